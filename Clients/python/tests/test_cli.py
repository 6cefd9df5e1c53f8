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
        assert {"matches", "scorer", "threshold", "precision", "cached", "needs_review",
                "review_reason", "provenance"} <= set(x)
        assert x["review_reason"] in ("", "no_match", "near_threshold")
        assert x["needs_review"] == (x["review_reason"] != "")
        assert x["provenance"]["top_k"] == 10 and x["provenance"]["template"] == "full"
        for m in x["matches"]:
            assert set(m["term"]) == {"pt_code", "pt_name", "llt_names", "hlt_name", "hlgt_name",
                                      "soc_name", "soc_code"}
            assert {"probability", "retrieval_rank"} <= set(m)
            assert set(m["llt"]) == {"llt_code", "llt_name", "how"}
            assert m["llt"]["how"] in ("exact", "closest", "pt_llt") and m["source"] == "model"
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


# -- batch robustness: --on-error, --input-encoding, the frame limit ----------------------

def _lines(p):
    return [json.loads(x) for x in p.stdout.splitlines()]


def _mixed_encoding_file(tmp_path):
    """Line 2 is GBK (what a spreadsheet on a Chinese Windows saves); lines 1 and 3 are UTF-8."""
    f = tmp_path / "mentions.txt"
    f.write_bytes("头晕\n".encode("utf-8") + "恶心想吐\n".encode("gbk") + "头疼\n".encode("utf-8"))
    return f


def test_gbk_line_under_utf8_stops_naming_file_line_and_the_fix(server, certs, tmp_path):
    f = _mixed_encoding_file(tmp_path)
    p = _run(server, certs, "normalize", "--input", str(f))
    assert p.returncode == 2, p.stderr
    assert [x["id"] for x in _lines(p)] == ["1"]  # what came before the bad line is kept
    assert f"{f}:2: not valid UTF-8" in p.stderr, p.stderr
    assert "--input-encoding gb18030" in p.stderr and "--on-error skip" in p.stderr, p.stderr


def test_gbk_line_skipped_under_on_error_skip(server, certs, tmp_path):
    f = _mixed_encoding_file(tmp_path)
    p = _run(server, certs, "normalize", "--input", str(f), "--on-error", "skip")
    assert p.returncode == 0, p.stderr
    assert [(x["id"], x["mention"]) for x in _lines(p)] == [("1", "头晕"), ("3", "头疼")]
    assert f"skipped {f}:2: not valid UTF-8" in p.stderr and "1 line(s)" in p.stderr, p.stderr


def test_input_encoding_gb18030_and_its_gbk_alias(server, certs, tmp_path):
    f = tmp_path / "gb.jsonl"
    rows = [{"mention_id": "a", "text_a": "吃完药后一直犯困头晕"}, {"mention_id": "b", "text_a": "恶心想吐𠀀"}]
    f.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows).encode("gb18030"))
    for name in ("gb18030", "GBK"):
        p = _run(server, certs, "normalize", "--input", str(f), "--input-encoding", name)
        assert p.returncode == 0, p.stderr
        assert [(x["id"], x["mention"]) for x in _lines(p)] == [("a", rows[0]["text_a"]), ("b", rows[1]["text_a"])]
    # Bytes that are not GB18030 either name the line, without the UTF-8 hint.
    f.write_bytes("头晕\n".encode("gb18030") + b"\x81\x20\n")
    p = _run(server, certs, "normalize", "--input", str(f), "--input-encoding", "gb18030")
    assert p.returncode == 2 and f"{f}:2: not valid GB18030" in p.stderr, p.stderr
    assert "pass --input-encoding" not in p.stderr


def test_bad_json_lines_name_file_line_and_field(server, certs, tmp_path):
    f = tmp_path / "mentions.jsonl"
    f.write_text("\n".join([
        '{"mention_id": "a", "text_a": "头晕"}',
        '{"mention_id": "b", "text_a": 5}',
        '{"mention_id": ["c"], "text_a": "恶心"}',
        '{"mention_id": "d", "text_a": ',
        '{"mention_id": "e"}',
        '{"mention_id": "f", "mention": "头疼"}',
    ]) + "\n", encoding="utf-8")
    p = _run(server, certs, "normalize", "--input", str(f))
    assert p.returncode == 2, p.stderr
    assert [x["id"] for x in _lines(p)] == ["a"]
    assert f'{f}:2: field "text_a": must be a string, not a number' in p.stderr, p.stderr
    assert "stopped at line 2" in p.stderr
    p = _run(server, certs, "normalize", "--input", str(f), "--on-error", "skip")
    assert p.returncode == 0, p.stderr
    assert [x["id"] for x in _lines(p)] == ["a", "f"]
    for needle in (f'{f}:2: field "text_a"', f'{f}:3: field "mention_id": must be a string or an integer, not a list',
                   f"{f}:4: not valid JSON", f'{f}:5: a JSON record needs the mention in "text_a", "raw_term" or "mention"',
                   "4 line(s)"):
        assert needle in p.stderr, (needle, p.stderr)


def test_every_line_skipped_is_not_success(server, certs, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"mention_id": 1}\n{"text_a": null}\n', encoding="utf-8")
    p = _run(server, certs, "normalize", "--input", str(f), "--on-error", "skip")
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""
    assert "nothing was normalized" in p.stderr and str(f) in p.stderr, p.stderr


def test_bad_flags_fail_before_any_input_is_read(server, certs, tmp_path):
    missing = str(tmp_path / "missing.txt")
    for flags in (["--on-error", "ignore"], ["--input-encoding", "latin-1"]):
        p = _run(server, certs, "normalize", "--input", missing, *flags)
        assert p.returncode == 2 and flags[0] in p.stderr and "missing.txt" not in p.stderr, p.stderr
    p = _run(server, certs, "normalize", "--input", missing)
    assert p.returncode == 2 and f"{missing}: cannot open" in p.stderr, p.stderr


def test_mention_over_the_frame_limit_is_an_item_error(server, certs, tmp_path):
    """The server's frame limit is 4 MiB (docs/PROTOCOL.md): a 4.5 MB line
    cannot be sent; it fails alone and the run goes on."""
    f = tmp_path / "big.txt"
    big = "头" * 1_500_000
    f.write_text(f"头晕\n{big}\n恶心想吐\n{big}\n", encoding="utf-8")
    p = _run(server, certs, "normalize", "--input", str(f))
    assert p.returncode == 1, p.stderr
    out = _lines(p)
    assert [x["id"] for x in out] == ["1", "2", "3", "4"]
    assert "error" not in out[0] and "error" not in out[2]
    for x in (out[1], out[3]):
        assert list(x) == ["schema", "id", "mention", "error"]
        assert x["schema"] == "adrnorm.mention_result/1" and x["mention"] == big
        assert x["error"]["code"] == "INVALID_ARGUMENT" and "frame limit" in x["error"]["message"], x["error"]
    assert "2 of 4 mentions failed" in p.stderr, p.stderr
