"""`playbook prepare` and `playbook lab`: clean notebooks for one shop, the named kernel, and
a notebook that cannot load its shop stopping with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from helpers import cli, nb
from helpers.core.errors import LoadError
from helpers.run import engine, lab, notebooks, prepare

ROOT = Path(__file__).resolve().parent.parent
TAOBAO = ROOT / "data" / "sample" / "taobao"
DEMO_WORDS = ("data/sample/demo", "reports/demo", "示例女装旗舰店", "demo")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """The Taobao sample copied to shops/taobao, prepared beside it into work/taobao."""
    root = tmp_path_factory.mktemp("consultant")
    shutil.copytree(TAOBAO, root / "shops" / "taobao")
    res = prepare.prepare_shop(root / "shops" / "taobao", root / "work" / "taobao")
    assert not res.failures and len(res.notebooks) == len(notebooks.notebooks())
    return root / "work" / "taobao"


def _params(node) -> dict:
    cells = [c for c in node.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    ns: dict = {}
    exec(cells[0].source, ns)  # noqa: S102 - our own generated assignments
    return {k: v for k, v in ns.items() if not k.startswith("__")}


def test_prepared_taobao_notebooks_are_clean_and_this_shops(prepared):
    for path in sorted(prepared.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert len(text.encode()) < 100_000, path.name
        for w in DEMO_WORDS:
            assert w not in text, (path.name, w)
        node = nbformat.read(path, as_version=4)
        assert set(node.metadata) == {"kernelspec", "language_info"}  # no papermill, jupytext
        assert node.metadata.kernelspec.name == "ecommerce-playbook"
        for c in node.cells:
            assert c.get("outputs", []) == [] and c.get("execution_count") is None
            assert set(c.metadata) <= {"tags", "jupyter"}
            assert "injected-parameters" not in c.metadata.get("tags", [])
        p = _params(node)
        assert p["shop_dir"] == "../../shops/taobao"  # relative: the folders sit side by side
        assert (prepared / p["shop_dir"]).resolve() == (prepared.parent.parent / "shops/taobao")
        assert p["out_dir"] == "report" and p["as_of"] == "2025-12-31" and p["lang"] == "zh"
        first = node.cells[0]
        assert first.cell_type == "markdown"
        assert "杭州小雅服饰（淘宝）" in first.source and "2025-12-31" in first.source
        assert "Run All" in first.source
    p02 = _params(nbformat.read(prepared / "02_target_setting.ipynb", as_version=4))
    assert p02["interactive"] is True
    p00 = _params(nbformat.read(prepared / "00_data_health.ipynb", as_version=4))
    assert "interactive" not in p00  # only where the notebook has that parameter


def test_prepare_far_from_the_shop_uses_absolute_paths(tmp_path):
    far = Path("/") / "tmp" / "h20-prepare-far" if str(ROOT).startswith("/tmp") else tmp_path
    res = prepare.prepare_shop(TAOBAO, far / "w", only=["00"], params=None, lang="en")
    node = nbformat.read(res.notebooks[0], as_version=4)
    p = _params(node)
    if os.path.commonpath([str(TAOBAO), str(far)]) == "/":
        assert p["shop_dir"] == str(TAOBAO)
    assert p["lang"] == "en" and "Run All first" in node.cells[0].source


def test_set_parameters_rewrites_values_and_keeps_comments():
    src = 'shop_dir = "../x"\n# a comment line\nambition = None  # growth, # inside\nn = 3'
    out = prepare.set_parameters(src, {"shop_dir": "淘宝/店", "ambition": 0.2, "other": 1})
    assert out.splitlines() == [
        "shop_dir = '淘宝/店'",
        "# a comment line",
        "ambition = 0.2  # growth, # inside",
        "n = 3",
    ]


def test_prepare_refuses_an_unknown_parameter_and_a_bad_shop(tmp_path):
    with pytest.raises(LoadError, match="not a parameter of any notebook: ambitoin"):
        prepare.prepare_shop(TAOBAO, tmp_path / "w", params={"ambitoin": 0.2})
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "orders.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(LoadError, match="headers not recognised"):
        prepare.prepare_shop(tmp_path / "bad", tmp_path / "w2")
    assert not (tmp_path / "w2").exists()  # nothing written for a shop that does not load


def test_prepare_execute_holds_this_shops_outputs_only(tmp_path, capfd):
    code = cli.main(
        ["prepare", str(TAOBAO), "--out", str(tmp_path / "w"), "--only", "00", "--execute"]
    )
    assert code == 0
    out, err = capfd.readouterr()  # the kernels' output too: no start-up chatter
    assert "1 of 1 notebooks ran, 0 failed" in out
    assert "IPKernelApp" not in err and "Traceback" not in err
    path = tmp_path / "w" / "00_data_health.ipynb"
    node = nbformat.read(path, as_version=4)
    assert "papermill" not in node.metadata and node.metadata.kernelspec.name == (
        "ecommerce-playbook"
    )
    outs = [o for c in node.cells if c.cell_type == "code" for o in c.outputs]
    assert outs and not any(o.output_type == "error" for o in outs)
    text = path.read_text(encoding="utf-8")
    assert "杭州小雅服饰" in text and "示例女装旗舰店" not in text
    assert len([c for c in node.cells if "parameters" in c.metadata.get("tags", [])]) == 1
    assert (tmp_path / "w" / "report" / "artifacts").is_dir()  # outputs beside the notebooks


def test_a_shop_that_does_not_load_stops_the_notebook_with_one_line(tmp_path):
    import papermill as pm

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "orders.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(LoadError) as want:
        from helpers.load.shop import load_shop

        load_shop(tmp_path / "bad")
    with pytest.raises(nb.ShopNotLoaded) as e:
        nb.open_shop(str(tmp_path / "bad"), str(tmp_path / "o"), None, "zh")
    assert e.value._render_traceback_() == [str(want.value)]
    src = notebooks.notebooks(["00"])[0].with_suffix(".py")
    dest = tmp_path / "00.ipynb"
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            notebooks.read_notebook(src),
            str(dest),
            parameters={"shop_dir": str(tmp_path / "bad"), "out_dir": str(tmp_path / "o")},
            kernel_name="python3",
            progress_bar=False,
        )
    assert engine._failure(src, err.value) == str(want.value)  # the loader's line, alone
    errors = [
        o
        for c in nbformat.read(dest, as_version=4).cells
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert len(errors) == 1 and errors[0].traceback == [str(want.value)]
    text = dest.read_text(encoding="utf-8")
    assert "SystemExit" not in text and "To exit" not in text and "Traceback" not in text


def test_lab_dry_run_prints_a_loopback_command_with_a_token(tmp_path, capsys):
    out = tmp_path / "w"
    assert cli.main(["lab", str(TAOBAO), "--out", str(out), "--dry-run", "--port", "18999"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"would prepare {TAOBAO} into {out}"
    cmd, url = lines[1].split(), lines[2]
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--ServerApp.port=18999" in cmd
    token = next(c.split("=", 1)[1] for c in cmd if c.startswith("--IdentityProvider.token="))
    assert len(token) >= 32
    assert f"--ServerApp.root_dir={out.resolve()}" in cmd
    assert "--LabApp.default_url=/lab/tree/00_data_health.ipynb" in cmd
    assert url == f"http://127.0.0.1:18999/lab/tree/00_data_health.ipynb?token={token}"
    assert not out.exists()  # a dry run writes nothing


def test_lab_starts_jupyterlab_with_the_named_kernel_and_stops(tmp_path, monkeypatch):
    """A real start: the server answers with the token only, lists the prepared notebooks
    once, offers the ecommerce-playbook kernel; then it stops."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jdata"))  # not the user's kernels
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jrun"))
    work = tmp_path / "work"
    prepare.prepare_shop(TAOBAO, work, only=["00", "01"])
    spec = lab.ensure_kernel()
    assert Path(spec).is_relative_to(tmp_path / "jdata")
    assert json.loads((Path(spec) / "kernel.json").read_text())["argv"][0] == sys.executable
    port, token = lab.free_port(18900), "t" * 40
    cmd = lab.lab_command(work, "00_data_health.ipynb", port, token, browser=False)
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api"
    try:
        end = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/status?token={token}", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < end
                time.sleep(0.5)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{base}/contents", timeout=5)
        assert e.value.code == 403
        got = json.load(urllib.request.urlopen(f"{base}/contents?token={token}", timeout=5))
        assert sorted(c["name"] for c in got["content"]) == [
            "00_data_health.ipynb",
            "01_market_positioning.ipynb",
        ]
        specs = json.load(urllib.request.urlopen(f"{base}/kernelspecs?token={token}", timeout=5))
        assert "ecommerce-playbook" in specs["kernelspecs"]
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode is not None


def test_lab_opens_saved_work_as_it_is(prepared, capsys):
    """A work folder with notebooks is not prepared again (the consultant's saves stay)."""
    before = {p.name: p.stat().st_mtime_ns for p in prepared.glob("*.ipynb")}
    assert cli.main(["lab", str(TAOBAO), "--out", str(prepared), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "holds notebooks already" in out and "would prepare" not in out
    assert {p.name: p.stat().st_mtime_ns for p in prepared.glob("*.ipynb")} == before
