"""adrnorm_client.spark on a local[2] Spark: 20,000 mentions across two
replicas (directly, then through HAProxy) with one replica killed mid-job;
every input row comes out once, rejected rows with their error."""

from __future__ import annotations

import pytest
from conftest import Replica, run_when

from adrnorm_client import Client
from adrnorm_client.spark import RESULT_COLUMNS, normalize_dataframe

N = 20000
MENTIONS = ["吃完药后一直犯困头晕", "恶心想吐", "头疼得厉害", "皮肤痒起红疹", "拉肚子三天", "睡不着觉",
            "浑身没力气", "头晕恶心", "吐了两次", "犯困"]
NULL_ROWS = {7, 19999}  # text null: answered here, never sent
BLANK_ROWS = {11, 12345}  # refused by the server


def mention(i: int):
    if i in NULL_ROWS:
        return None
    if i in BLANK_ROWS:
        return "  "
    return f"{MENTIONS[i % len(MENTIONS)]}{i % 41}"


def frame(spark):
    return spark.createDataFrame([(i, f"case-{i // 3}", mention(i)) for i in range(N)],
                                 "row_id long, case_id string, mention string").repartition(2)


def kill_mid_job(replicas, tls, threshold: int = 3000):
    """Kills (SIGKILL) the first replica that has scored ``threshold`` mentions."""
    direct = {r.address: Client(r.address, **tls, timeout=10) for r in replicas}
    killed = []

    def scored(r: Replica) -> int:
        try:
            cache = direct[r.address].info().cache
        except Exception:
            return 0
        return cache.hits + cache.misses

    def condition() -> bool:
        return any(scored(r) >= threshold for r in replicas)

    def action() -> None:
        victim = next(r for r in replicas if scored(r) >= threshold)
        for d in direct.values():
            d.close()
        victim.kill()
        killed.append(victim)

    return run_when(condition, action), killed


def check(out, killed) -> None:
    assert out.columns == ["row_id", "case_id", "mention"] + [name for name, _, _ in RESULT_COLUMNS]
    rows = out.collect()
    assert killed, "no replica was killed during the job"
    assert len(rows) == N
    assert sorted(r.row_id for r in rows) == list(range(N))
    by_id = {r.row_id: r for r in rows}
    for i in NULL_ROWS:
        assert (by_id[i].error_code, by_id[i].error) == ("INVALID_ARGUMENT", "the text column is null")
    for i in BLANK_ROWS:
        assert by_id[i].error_code == "INVALID_ARGUMENT" and "mention" in by_id[i].error, by_id[i]
        assert by_id[i].pt_codes == []
    ok = [r for r in rows if r.row_id not in NULL_ROWS | BLANK_ROWS]
    assert all(r.error_code is None and r.error is None for r in ok)
    assert all(r.case_id == f"case-{r.row_id // 3}" and r.mention == mention(r.row_id) for r in rows)
    assert all(len(r.pt_codes) == len(r.pt_names) == len(r.probabilities) == len(r.llt_codes)
               == len(r.llt_names) for r in rows)
    matched = [r for r in ok if r.pt_codes]
    assert len(matched) > N // 2
    assert all(all(0.0 <= p <= 1.0 for p in r.probabilities) for r in matched)
    assert all(all(r.llt_names) for r in matched)
    assert all(isinstance(r.needs_review, bool) for r in rows)
    # The same mention gets the same PTs whichever replica answered it.
    seen = {}
    for r in matched:
        assert seen.setdefault(r.mention, r.pt_codes) == r.pt_codes


def test_dataframe_across_two_replicas_with_one_killed(spark, replicas, tls):
    reps = replicas(2)
    out = normalize_dataframe(frame(spark), "mention", servers=[r.address for r in reps], **tls, top_k=20,
                              id_col="row_id", client_options={"backoff_initial": 0.05, "backoff_max": 0.5})
    watcher, killed = kill_mid_job(reps, tls)
    check(out, killed)
    watcher.join(1)


def test_dataframe_through_haproxy_with_one_replica_killed(spark, replicas, balancer, tls):
    reps = replicas(2)
    lb = balancer(reps)
    out = normalize_dataframe(frame(spark), "mention", servers=[lb.address], **tls, top_k=20,
                              client_options={"backoff_initial": 0.05, "backoff_max": 0.5})
    watcher, killed = kill_mid_job(reps, tls)
    check(out, killed)
    watcher.join(1)


def test_bad_arguments_fail_before_any_job(spark, tls):
    df = spark.createDataFrame([(1, "头晕")], "n long, mention string")
    with pytest.raises(ValueError, match="no column 'text'"):
        normalize_dataframe(df, "text", servers="127.0.0.1:1", **tls)
    with pytest.raises(ValueError, match="'n' is bigint, not a string"):
        normalize_dataframe(df, "n", servers="127.0.0.1:1", **tls)
    clash = spark.createDataFrame([("头晕", "x")], "mention string, error string")
    with pytest.raises(ValueError, match="prefix="):
        normalize_dataframe(clash, "mention", servers="127.0.0.1:1", **tls)
    assert "adrnorm_error" in normalize_dataframe(clash, "mention", servers="127.0.0.1:1", prefix="adrnorm_",
                                                  **tls).columns
    with pytest.raises(Exception, match="HOST:PORT"):
        normalize_dataframe(df, "mention", servers=["nohost"], **tls)
