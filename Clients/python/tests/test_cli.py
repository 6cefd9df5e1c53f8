"""python -m adrnorm_client (fake or real server)."""

import json
import subprocess
import sys


def _run(server, certs, *args, timeout=120):
    cmd = [sys.executable, "-m", "adrnorm_client", args[0], "--server", f"{server.host}:{server.port}",
           "--ca", str(certs / "ca.pem"), "--cert", str(certs / "client-a.pem"),
           "--key", str(certs / "client-a.key"), *args[1:]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_normalize_texts(server, certs):
    p = _run(server, certs, "normalize", "吃完药后一直犯困头晕", "恶心想吐", "--top-k", "10")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [(x["id"], x["mention"]) for x in lines] == [("1", "吃完药后一直犯困头晕"), ("2", "恶心想吐")]
    assert all(isinstance(x["pt_codes"], list) and "error" not in x for x in lines)
    # The mention-result schema shared with adrnorm normalize --emit mentions
    # and adrnorm call normalize (docs/PIPELINE.md §Mention results).
    for x in lines:
        assert x["schema"] == "adrnorm.mention_result/1"
        assert {"matches", "scorer", "threshold", "precision", "cached"} <= set(x)
        for m in x["matches"]:
            assert set(m["term"]) == {"pt_code", "pt_name", "llt_names", "hlt_name", "hlgt_name",
                                      "soc_name", "soc_code"}
            assert {"probability", "retrieval_rank"} <= set(m)
        assert x["pt_codes"] == [m["term"]["pt_code"] for m in x["matches"]]
    assert p.stderr == ""  # no progress bar for TEXT arguments


def test_normalize_file_with_progress_and_item_errors(server, certs, tmp_path):
    f = tmp_path / "mentions.jsonl"
    rows = [{"mention_id": f"m{i}", "text_a": t} for i, t in enumerate(["头晕", "恶心", "头疼"] * 100)]
    rows.insert(5, {"mention_id": "m1", "text_a": "头晕"})  # a pair file repeats mentions
    rows.append({"mention_id": "blank", "text_a": "  "})
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    p = _run(server, certs, "normalize", "--input", str(f), "--progress")
    assert p.returncode == 1, p.stderr  # one item failed
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["id"] for x in out] == [f"m{i}" for i in range(300)] + ["blank"]
    assert out[-1]["error"]["code"] == "INVALID_ARGUMENT"
    assert "100.0%" in p.stderr and "1 of 301 mentions failed" in p.stderr


def test_normalize_plain_text_file(server, certs, tmp_path):
    f = tmp_path / "m.txt"
    f.write_text("头晕\n\n恶心想吐\n", encoding="utf-8")
    p = _run(server, certs, "normalize", "--input", str(f))
    assert p.returncode == 0, p.stderr
    assert [json.loads(x)["id"] for x in p.stdout.splitlines()] == ["1", "3"]


def test_info_and_health(server, certs):
    p = _run(server, certs, "info")
    assert p.returncode == 0 and json.loads(p.stdout)["protocol_version"] == 1
    p = _run(server, certs, "health")
    assert p.returncode == 0 and p.stdout.strip() == "SERVING"


def test_refused_certificate_exit_code(server, certs):
    cmd = [sys.executable, "-m", "adrnorm_client", "health", "--server", f"{server.host}:{server.port}",
           "--ca", str(certs / "ca.pem"), "--cert", str(certs / "client-untrusted.pem"),
           "--key", str(certs / "client-untrusted.key")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "refused" in p.stderr
