"""The what-if app without a browser: the database's migrations, forms checked field by field,
CSRF and the token, uploads that cannot be used, the scenario-set YAML both ways, the files a
run may serve, and the progress bar the run queue reads (tests/e2e drives it in Chromium)."""
from __future__ import annotations

import io
import json
import sqlite3

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from carepath.app import scenarios as S  # noqa: E402
from carepath.app.db import DB_NAME, MIGRATIONS, SCHEMA_VERSION, Store, StoreError, migrate  # noqa: E402
from carepath.app.runner import RESULTS, parse_progress, run_folder  # noqa: E402
from carepath.app.security import CSRF_COOKIE, token_problem  # noqa: E402
from carepath.app.web import create_app  # noqa: E402
from carepath.options import default_business_case  # noqa: E402


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path / "data"), follow_redirects=False) as c:
        yield c


def csrf(c: TestClient) -> str:
    c.get("/")
    return c.cookies[CSRF_COOKIE]


def scenario_form(token: str, **over) -> dict:
    form = {"csrf": token, "name": "Edge of care", "baseline_kind": "shipped", "lever-0-name": "edge_of_care",
            "lever-0-start": "2022-11-01", "lever-0-ramp": "24", "lever-0-mode": "mechanism",
            "lever-0-key-divert_share": "0.2", "action": "save"}
    form.update(over)
    return form


def test_a_new_database_gets_every_migration_and_an_old_one_the_missing_ones(tmp_path):
    s = Store(tmp_path)
    assert s.version == SCHEMA_VERSION
    assert [r["version"] for r in s._all("SELECT version FROM schema_migrations ORDER BY version")] == [
        v for v, _, _ in MIGRATIONS]
    s.close()
    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / DB_NAME, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)")
    version, description, sql = MIGRATIONS[0]
    for statement in filter(None, (x.strip() for x in sql.split(";"))):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", (version, description))
    conn.execute("INSERT INTO runs (title, scenario_ids, scenario_set, status, created) VALUES ('r', '[]', '', 'finished', 'then')")
    assert migrate(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT draws FROM runs").fetchall() == [(0,)], "the run kept, with the new column's default"
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 'later')")
    conn.close()
    with pytest.raises(StoreError, match="newer carepath"):
        Store(old)


def test_a_form_without_its_csrf_field_changes_nothing(client):
    r = client.post("/scenarios/save", data=scenario_form("forged"))
    assert r.status_code == 403 and "expired" in r.text
    assert client.app.state.store.scenarios() == []
    r = client.post("/scenarios/save", data=scenario_form(csrf(client)), headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "another site" in r.text
    r = client.post("/scenarios/save", data=scenario_form(csrf(client)))
    assert r.status_code == 303
    [saved] = client.app.state.store.scenarios()
    assert saved["spec"]["levers"][0]["mechanism"] == {"divert_share": 0.2}


def test_bad_values_are_named_beside_their_fields_in_plain_words(client):
    token = csrf(client)
    r = client.post("/scenarios/save", data=scenario_form(token, **{
        "lever-0-key-divert_share": "1.5", "lever-0-ramp": "soon", "price_growth_per_year": "lots", "name": "a/b"}))
    assert r.status_code == 422
    for field, words in (("lever-0-key-divert_share", "out of range: must be 0 to 1"),
                         ("lever-0-ramp", "months to full effect"), ("price_growth_per_year", "must be a number"),
                         ("name", "without / \\ or :")):
        assert f'id="err-{field}"' in r.text and words in r.text.replace("&#39;", "'"), field
    assert "Traceback" not in r.text and client.app.state.store.scenarios() == []
    spec, errors = S.spec_from_form(scenario_form(token, **{"lever-0-end": "2023-01-01"}))
    assert "ramp to full effect ends" in errors["lever-0-name"], "the lever's own checks, beside the lever"


def test_uploads_that_cannot_be_used_get_a_message(client):
    token = csrf(client)
    for content, words in ((b"scenarios: [unclosed\n - {", "not readable as YAML"),
                           (b"\xff\xfe\x00binary", "not a text file"),
                           (b"name: x\nbaseline: baseline.yaml\nscenarios: [{name: a, levers: [{lever: nope, start: 2022-01-01}]}]\n",
                            "unknown lever"),
                           (b"- a list\n", "not a scenario set")):
        r = client.post("/import", data={"csrf": token}, files={"file": ("mine.yaml", io.BytesIO(content), "text/yaml")})
        assert r.status_code == 400, content
        assert words in r.text.replace("&#39;", "'") and "Traceback" not in r.text, content
    assert client.app.state.store.scenarios() == []


def test_the_shipped_business_case_imports_and_exports_as_the_same_levers(client):
    token = csrf(client)
    text = default_business_case().read_text(encoding="utf-8")
    r = client.post("/import", data={"csrf": token},
                    files={"file": ("business_case.yaml", io.BytesIO(text.encode()), "text/yaml")})
    assert r.status_code == 303 and "stretches" in r.headers["location"], "the stretch scenario is said to be left out"
    saved = {s["name"]: s for s in client.app.state.store.scenarios()}
    original = S.validate_set(text.replace("baseline: baseline.yaml", f"baseline: {S.baseline_file('')}"))
    expected = {sc.name for sc in original.scenarios if sc.based_on is None}
    assert set(saved) == expected
    r = client.post("/export", data={"csrf": token, "scenario": [str(saved["all_levers"]["id"]), str(saved["edge_of_care"]["id"])],
                                     "seed": "7", "replications": "3"})
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('scenarios.yaml"')
    back = S.validate_set(r.text)
    assert back.seed == 7 and back.replications == 3
    by_name = {sc.name: sc for sc in original.scenarios}
    for sc in back.scenarios:
        assert [lv.model_dump(mode="json") for lv in sc.levers] == [
            lv.model_dump(mode="json") for lv in by_name[sc.name].levers], sc.name
        assert [lv.running_cost for lv in sc.levers] == [lv.running_cost for lv in by_name[sc.name].levers]
    assert back.investment_of(back.scenarios[0]) == original.investment_of(by_name["all_levers"])


def test_a_run_serves_only_the_files_its_manifest_lists_and_never_child_level_ones(client):
    store, data = client.app.state.store, client.app.state.data
    rid = store.add_run("r", [], "")
    out = run_folder(data, rid) / RESULTS
    out.mkdir(parents=True)
    (out / "roi_profile.csv").write_text("a\n1\n")
    (out / "events.csv").write_text("child_id\n7\n")
    (out / "stray.csv").write_text("x\n")
    (out / "manifest.json").write_text(json.dumps({"files": ["roi_profile.csv", "events.csv"],
                                                   "child_level_files": ["events.csv"], "scenarios": []}))
    store.update_run(rid, status="finished")
    assert client.get(f"/runs/{rid}/files/roi_profile.csv").text == "a\n1\n"
    for name in ("events.csv", "stray.csv", "..%2Fscenario_set.yaml", "manifest.json"):
        r = client.get(f"/runs/{rid}/files/{name}")
        assert r.status_code == 404 and "Traceback" not in r.text, name


def test_another_address_needs_a_token_and_the_token_is_asked_for(tmp_path, monkeypatch):
    assert token_problem("127.0.0.1", None) is None
    assert "CAREPATH_APP_TOKEN" in token_problem("0.0.0.0", None)
    assert "at least 16" in token_problem("0.0.0.0", "short")
    from carepath.cli import main

    monkeypatch.delenv("CAREPATH_APP_TOKEN", raising=False)
    assert main(["app", "--host", "0.0.0.0", "--data", str(tmp_path / "d")]) == 2
    token = "a-long-enough-token-123"
    with TestClient(create_app(tmp_path / "t", token=token), follow_redirects=False) as c:
        assert c.get("/").headers["location"] == "/login"
        form_token = (c.get("/login"), c.cookies[CSRF_COOKIE])[1]
        assert c.post("/login", data={"csrf": form_token, "token": "wrong-token-wrong-token"}).status_code == 403
        assert c.post("/login", data={"csrf": form_token, "token": token}).status_code == 303
        assert c.get("/").status_code == 200


def test_the_queue_reads_the_replications_progress_bar():
    from sim.replications import Progress

    buf = io.StringIO()
    bar = Progress(40, label="scenario replications", stream=buf)
    bar.step(10)
    done, total, stage, left = parse_progress(buf.getvalue().split("\r")[-1])
    assert (done, total, stage) == (10, 40, "scenario replications") and left >= 0
    assert parse_progress("carepath: something else") is None


def test_a_run_with_parameter_draws_shows_its_risk_tables_and_missing_tables_are_left_out(client):
    """A run folder holding only some of the experiment's tables (here: the headline, the savings
    by year and the risk analysis's) renders; the risk table's figures are on the page."""
    store, data = client.app.state.store, client.app.state.data
    rid = store.add_run("with draws", [], "", draws=50)
    out = run_folder(data, rid) / RESULTS
    out.mkdir(parents=True)
    years = ["2022/23", "2023/24"]
    (out / "roi_profile.csv").write_text(
        "scenario,financial_year,gross_saving,gross_saving_low,gross_saving_high,investment,net_saving\n"
        + "".join(f"plan,{y},{1e5 * (i + 1)},{5e4 * (i + 1)},{1.5e5 * (i + 1)},0,{1e5 * (i + 1)}\n" for i, y in enumerate(years)))
    (out / "business_case_summary.csv").write_text(
        "scenario,first_year,last_year,gross_saving_8y,gross_saving_8y_low,gross_saving_8y_high,investment_8y,"
        "net_saving_8y,roi_8y,year8_gross_saving,year8_gross_saving_low,year8_gross_saving_high,replications,"
        "running_cost_8y,flags\nplan,2022/23,2023/24,300000,150000,450000,0,300000,,200000,100000,300000,8,0,\n")
    (out / "business_case_risk.csv").write_text(
        "scenario,measure,mean,p05,p50,p95\nplan,year8_gross_saving,187654,61234,190000,310987\n"
        "plan,gross_saving_2023/24,187654,61234,190000,310987\n")
    files = ["roi_profile.csv", "business_case_summary.csv", "business_case_risk.csv"]
    (out / "manifest.json").write_text(json.dumps({"files": files, "child_level_files": [], "scenarios": ["plan"],
                                                   "seed": 1, "replications": 8}))
    store.update_run(rid, status="finished", message="finished")
    r = client.get(f"/runs/{rid}")
    assert r.status_code == 200, r.text[-500:]
    assert "With parameter uncertainty (50 draws)" in r.text
    assert "3.11e+05" in r.text and "6.123e+04" in r.text, "the risk table's p95 and p05"
    assert "£200k" in r.text, "the headline saving"
    assert "5%-95% with parameter uncertainty" in r.text, "the draws' range drawn on the savings chart"


def test_a_port_in_use_or_a_data_folder_that_is_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    import socket

    from carepath.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["app", "--port", str(port), "--data", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("carepath: cannot listen on 127.0.0.1:") and "choose another --port" in err[-1]
    (tmp_path / "a_file").write_text("x")
    assert main(["app", "--data", str(tmp_path / "a_file")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "cannot open the app's database" in err[-1] and "Traceback" not in "".join(err)


def test_a_scenario_is_duplicated_under_a_free_name_renamed_and_deleted(client):
    token = csrf(client)
    store = client.app.state.store
    client.post("/scenarios/save", data=scenario_form(token))
    [first] = store.scenarios()
    r = client.post(f"/scenarios/{first['id']}/duplicate", data={"csrf": token})
    assert r.status_code == 303
    r = client.post(f"/scenarios/{first['id']}/duplicate", data={"csrf": token})
    names = sorted(s["name"] for s in store.scenarios())
    assert names == ["Edge of care", "Edge of care copy", "Edge of care copy (2)"]
    copy = store.scenario_named("Edge of care copy")
    assert copy["spec"]["levers"] == first["spec"]["levers"]
    r = client.post("/scenarios/save", data=scenario_form(token, sid=str(copy["id"]), name="Edge of care copy (2)"))
    assert r.status_code == 422 and "another saved scenario has this name" in r.text
    client.post("/scenarios/save", data=scenario_form(token, sid=str(copy["id"]), name="Renamed"))
    assert store.scenario(copy["id"])["spec"]["name"] == "Renamed"
    assert client.post(f"/scenarios/{copy['id']}/delete", data={"csrf": token}).status_code == 303
    assert sorted(s["name"] for s in store.scenarios()) == ["Edge of care", "Edge of care copy (2)"]
    assert client.post(f"/scenarios/{copy['id']}/delete", data={"csrf": token}).status_code == 404
