"""The client the run's kernel managers hand to papermill: ready as soon as a kernel has
answered on both of its channels.

jupyter_client's ``wait_for_ready`` ends by reading IOPub until it has been silent for
0.2 s. Every notebook of a run starts with it, and nothing else runs in that worker then:
on a demo-sized shop that was 0.2 s of idle core in each 1.5 s notebook. Here the wait ends
on the kernel's ``idle`` status for our own ``kernel_info`` request, which the kernel
publishes on IOPub after everything that came before it: IOPub is then connected and
drained of the start-up's messages, which is what the silence was waiting for.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient

__all__ = ["ReadyClient"]


class ReadyClient(AsyncKernelClient):
    """An ``AsyncKernelClient`` whose ``wait_for_ready`` ends on the kernel's answer."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        end = time.monotonic() + (float("inf") if timeout is None else timeout)
        wait = 0.01
        while True:
            msg_id = self.kernel_info()
            reply = await _reply(self.shell_channel, msg_id, 1.0)
            # its idle status on IOPub: subscribed (a SUB socket misses what is published
            # before its subscription reaches the kernel, a few ms after it connects: then
            # ask again, waiting longer each time) and everything published before it read
            if reply is not None and await _idle(self.iopub_channel, msg_id, wait):
                self._handle_kernel_info_reply(reply)
                return
            wait = min(2 * wait, 0.2)
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > end:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    wait_for_ready = _async_wait_for_ready  # the base class binds its own at class creation


async def _reply(channel, msg_id: str, timeout: float):
    """The reply to request ``msg_id`` on ``channel`` within ``timeout`` s, or None."""
    return await _first(channel, timeout, lambda m: m["parent_header"].get("msg_id") == msg_id)


async def _idle(channel, msg_id: str, timeout: float) -> bool:
    """Whether the kernel's ``idle`` status for request ``msg_id`` arrives within
    ``timeout`` s (messages before it are read and dropped, as the silence wait did)."""
    return (
        await _first(
            channel,
            timeout,
            lambda m: (
                m["msg_type"] == "status"
                and m["content"].get("execution_state") == "idle"
                and m["parent_header"].get("msg_id") == msg_id
            ),
        )
        is not None
    )


async def _first(channel, timeout: float, wanted):
    """The first message on ``channel`` that is ``wanted`` within ``timeout`` s (the ones
    before it read and dropped), or None."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await channel.get_msg(timeout=left)
        except Empty:
            return None
        if wanted(msg):
            return msg
    return None
