"""The web app (FastAPI with Jinja2 templates and plain HTML forms; Plotly for the charts).

Pages: the home page (scenarios, runs, import), a scenario's form, a run (its progress, then its
results), and the comparison. Every POST carries the CSRF field (security.py); any error a
request meets becomes a plain page, never a traceback.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from experiments.scenarios import ScenarioError
from sim.levers import CATALOGUE
from sim.vocab import PLACEMENT_TYPES

from . import results as R
from . import scenarios as S
from .db import Store
from .runner import RESULTS, RunQueue, experiment_supports, run_folder
from .security import AUTH_COOKIE, CSRF_COOKIE, Guard, load_secret

HERE = Path(__file__).parent
MAX_UPLOAD = 1 << 20   # a scenario set is a few kB; refuse anything over 1 MB


class Page(Exception):
    """A request that cannot be done: shown as a plain page with this message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _core_note() -> str:
    import sim.core as core

    if core.kind() == "python":
        return ("The model runs from its Python source here (" + core.reason() + "): the results are the same, "
                "but runs take about three times as long.")
    return ""


def _seconds_per_replication(store: Store) -> float:
    """From the latest finished run's manifest, else a typical figure for this build."""
    for run in store.runs():
        if run["status"] == "finished":
            got = R.Run.read(run_folder(store.data, run["id"]) / RESULTS)
            if got and got.manifest.get("mean_replication_seconds"):
                return float(got.manifest["mean_replication_seconds"])
    import sim.core as core

    return 0.6 if core.kind() == "compiled" else 1.8


def _plan(text: str) -> str:
    """What a run runs, in words: its scenarios and replications."""
    import yaml

    try:
        d = yaml.safe_load(text)
        names = [sc["name"] for sc in d["scenarios"]]
        return (f"The baseline and {len(names)} scenario{'s' if len(names) != 1 else ''} ({', '.join(names)}), "
                f"{d['replications']} replications each, seed {d['seed']}; replications already run for the same "
                "baseline and seed are taken from the cache.")
    except (yaml.YAMLError, KeyError, TypeError):
        return ""


def create_app(data: Path, token: Optional[str] = None, workers: Optional[int] = None) -> FastAPI:
    data = Path(data).expanduser().resolve()
    store = Store(data)
    queue = RunQueue(store, data, workers)
    guard = Guard(load_secret(data), token)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(money=R.money, num=R.num, catalogue=CATALOGUE, placement_types=PLACEMENT_TYPES,
                                 bound_words=S.bound_words, assumptions=S.ASSUMPTIONS, label=R.scenario_label)
    draws_supported = experiment_supports("--draws")

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        queue.start()
        yield
        queue.stop()
        store.close()

    app = FastAPI(title="carepath", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store, app.state.queue, app.state.data = store, queue, data

    def render(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh = csrf is None or not guard.csrf_ok(csrf, csrf)
        if fresh:
            csrf = guard.new_csrf()
        ctx.update(request=request, csrf=csrf, core_note=_core_note(), flash=request.query_params.get("msg", ""))
        resp = templates.TemplateResponse(request, name, ctx, status_code=status)
        if fresh:
            resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        resp.headers["Cache-Control"] = "no-store"
        return resp

    async def posted(request: Request) -> dict:
        """The form of a POST, once its origin and CSRF field are checked."""
        origin = request.headers.get("origin")
        if origin and origin != "null":
            own = f"{request.url.scheme}://{request.headers.get('host', '')}"
            if origin != own:
                raise Page("This form came from another site, so it was not used.", 403)
        try:
            length = int(request.headers.get("content-length") or 0)
        except ValueError:
            raise Page("The form could not be read; go back and send it again.") from None
        if length > MAX_UPLOAD:
            raise Page(f"That upload is {length / 1e6:.1f} MB; a scenario set is at most 1 MB.", 413)
        try:
            form = await request.form(max_files=1, max_fields=2000)
        except Exception:  # noqa: BLE001 - a body that is not a form
            raise Page("The form could not be read; go back and send it again.") from None
        if not guard.csrf_ok(request.cookies.get(CSRF_COOKIE), form.get("csrf")):
            raise Page("This form has expired (or came from another page); go back, reload the page and send it again.", 403)
        return form

    def back(url: str, msg: str = "") -> RedirectResponse:
        if msg:
            url += ("&" if "?" in url else "?") + "msg=" + re.sub(r"[^\w .,:;()'£%-]", "", msg).replace(" ", "+")
        return RedirectResponse(url, status_code=303)

    # ------------------------------------------------------------------ errors, login
    @app.exception_handler(Page)
    async def _page(request: Request, exc: Page):
        return render(request, "message.html", status=exc.status, message=str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        words = {404: "There is no such page.", 405: "That page does not take this kind of request."}
        return render(request, "message.html", status=exc.status_code, message=words.get(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception):
        return HTMLResponse(f"<!doctype html><title>carepath: a problem</title><p>Something went wrong with this page "
                            f"({type(exc).__name__}). Nothing was changed. Go <a href='/'>back to the start</a>.</p>",
                            status_code=500)

    @app.middleware("http")
    async def _auth(request: Request, call_next):
        path = request.url.path
        if guard.required and not path.startswith(("/login", "/static/")) and not guard.authed(request.cookies.get(AUTH_COOKIE)):
            return RedirectResponse("/login", status_code=303)
        resp = await call_next(request)
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request):
        return render(request, "login.html", error="")

    @app.post("/login")
    async def login(request: Request):
        form = await posted(request)
        if not guard.token_ok(str(form.get("token", ""))):
            return render(request, "login.html", status=403, error="That is not the app's token.")
        resp = back("/")
        resp.set_cookie(AUTH_COOKIE, guard.auth_value(), httponly=True, samesite="strict")
        return resp

    @app.get("/static/plotly.min.js")
    async def plotly_js():
        import plotly

        return FileResponse(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", media_type="text/javascript")

    @app.get("/static/{name}")
    async def static(name: str):
        p = HERE / "static" / name
        if not re.fullmatch(r"[a-z]+\.(css|js)", name) or not p.is_file():
            raise Page("There is no such file.", 404)
        return FileResponse(p, media_type="text/css" if name.endswith(".css") else "text/javascript")

    # ------------------------------------------------------------------ home
    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request):
        runs = store.runs()
        return render(request, "home.html", scenarios=store.scenarios(), runs=runs, draws_supported=draws_supported,
                      seed=S.DEFAULT_SEED, replications=S.DEFAULT_REPLICATIONS,
                      spr=_seconds_per_replication(store))

    # ------------------------------------------------------------------ scenarios
    def scenario_page(request: Request, spec: dict, sid: Optional[int], errors: dict, status: int = 200):
        start, years = S.horizon(spec.get("baseline", ""))
        spr = _seconds_per_replication(store)
        from sim.backends import default_workers

        return render(request, "scenario.html", status=status, spec=spec, sid=sid, errors=errors,
                      values=S.form_values(spec), years=years, horizon_start=start,
                      search_seconds=S.search_seconds(spec, spr, workers or default_workers()))

    @app.get("/scenarios/new", response_class=HTMLResponse)
    async def new_scenario(request: Request):
        return scenario_page(request, S.new_spec(store.free_name("New scenario")), None, {})

    @app.get("/scenarios/{sid}", response_class=HTMLResponse)
    async def edit_scenario(request: Request, sid: int):
        row = store.scenario(sid)
        if row is None:
            raise Page("There is no such scenario (it may have been deleted).", 404)
        return scenario_page(request, row["spec"], sid, {})

    @app.post("/scenarios/save")
    async def save_scenario(request: Request):
        form = await posted(request)
        sid = int(form["sid"]) if str(form.get("sid", "")).isdigit() else None
        old = store.scenario(sid)["spec"] if sid is not None and store.scenario(sid) else None
        spec, errors = S.spec_from_form(form, old)
        action = str(form.get("action", "save"))
        if action == "add":
            name = str(form.get("add_lever", ""))
            if name in CATALOGUE:
                spec["levers"].append(S.default_lever(name, spec["baseline"]))
            return scenario_page(request, spec, sid, {})
        if action.startswith("remove-"):
            i = int(action.removeprefix("remove-")) if action.removeprefix("remove-").isdigit() else -1
            if 0 <= i < len(spec["levers"]):
                spec["levers"].pop(i)
            return scenario_page(request, spec, sid, {})
        other = store.scenario_named(spec["name"])
        if other is not None and other["id"] != sid:
            errors["name"] = "another saved scenario has this name: choose another"
        if errors:
            return scenario_page(request, spec, sid, errors, status=422)
        sid = store.save_scenario(spec, sid)
        if action == "run":
            rid = queue_run(form, [sid])
            return back(f"/runs/{rid}")
        return back(f"/scenarios/{sid}", f"Saved {spec['name']}.")

    @app.post("/scenarios/{sid}/duplicate")
    async def duplicate(request: Request, sid: int):
        await posted(request)
        row = store.scenario(sid)
        if row is None:
            raise Page("There is no such scenario.", 404)
        spec = dict(row["spec"], name=store.free_name(row["spec"]["name"] + " copy"))
        new = store.save_scenario(spec)
        return back(f"/scenarios/{new}", f"Duplicated as {spec['name']}.")

    @app.post("/scenarios/{sid}/delete")
    async def delete(request: Request, sid: int):
        await posted(request)
        row = store.scenario(sid)
        if row is None:
            raise Page("There is no such scenario.", 404)
        store.delete_scenario(sid)
        return back("/", f"Deleted {row['spec']['name']}.")

    def _run_settings(form) -> tuple[int, int, int]:
        try:
            seed = int(form.get("seed") or S.DEFAULT_SEED)
            reps = int(form.get("replications") or S.DEFAULT_REPLICATIONS)
            draws = int(form.get("draws") or 0)
        except ValueError:
            raise Page("Seed, replications and draws are whole numbers.") from None
        if seed < 0 or not 2 <= reps <= 500 or not 0 <= draws <= 2000:
            raise Page("The seed must not be negative, replications lie between 2 and 500, draws between 0 and 2000.")
        return seed, reps, draws

    def _set_text(ids: list[int], seed: int, reps: int, draws: int) -> tuple[str, str]:
        rows = [store.scenario(i) for i in ids]
        if not ids or any(r is None for r in rows):
            raise Page("Choose one or more saved scenarios.")
        title = " + ".join(r["spec"]["name"] for r in rows)
        try:
            text = S.dump_yaml(S.scenario_set([r["spec"] for r in rows], title=title, seed=seed, replications=reps,
                                              draws=draws))
            S.validate_set(text, "the scenarios chosen")
        except ScenarioError as exc:
            raise Page(str(exc)) from None
        return title, text

    def queue_run(form, ids: list[int]) -> int:
        seed, reps, draws = _run_settings(form)
        title, text = _set_text(ids, seed, reps, draws)
        rid = store.add_run(title, ids, text, draws)
        queue.submit()
        return rid

    @app.post("/runs")
    async def start_run(request: Request):
        form = await posted(request)
        ids = [int(v) for v in form.getlist("scenario") if str(v).isdigit()]
        if not ids:
            raise Page("Tick one or more scenarios to run.")
        return back(f"/runs/{queue_run(form, ids)}")

    @app.post("/export")
    async def export(request: Request):
        form = await posted(request)
        ids = [int(v) for v in form.getlist("scenario") if str(v).isdigit()]
        if not ids:
            raise Page("Tick one or more scenarios to export.")
        seed, reps, draws = _run_settings(form)
        _, text = _set_text(ids, seed, reps, draws)
        return _yaml_download(text, "scenarios.yaml")

    def _yaml_download(text: str, name: str) -> Response:
        return Response(text, media_type="application/x-yaml",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/import")
    async def import_set(request: Request):
        form = await posted(request)
        up = form.get("file")
        if up is None or not hasattr(up, "read") or not up.filename:
            raise Page("Choose a scenario-set YAML file to import.")
        raw = await up.read()
        source = Path(up.filename).name
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Page(f"{source} is not a text file (a scenario set is YAML text).") from None
        try:
            specs, notes = S.import_set(text, source)
        except ScenarioError as exc:
            raise Page(f"{source} could not be imported: {exc}") from None
        names = []
        for spec in specs:
            spec["name"] = store.free_name(spec["name"])
            store.save_scenario(spec)
            names.append(spec["name"])
        msg = f"Imported {len(names)} scenario{'s' if len(names) != 1 else ''} from {source}: {', '.join(names)}."
        if notes:
            msg += " " + " ".join(n[0].upper() + n[1:] + "." for n in notes)
        return back("/", msg)

    # ------------------------------------------------------------------ runs
    def run_or_404(rid: int) -> dict:
        run = store.run(rid)
        if run is None:
            raise Page("There is no such run.", 404)
        return run

    def finished(run: dict) -> R.Run:
        got = R.Run.read(run_folder(data, run["id"]) / RESULTS) if run["status"] == "finished" else None
        if got is None:
            raise Page("This run has no results (yet).", 404)
        return got

    @app.get("/runs/{rid}", response_class=HTMLResponse)
    async def show_run(request: Request, rid: int):
        run = run_or_404(rid)
        if run["status"] != "finished":
            return render(request, "progress.html", run=run, plan=_plan(run["scenario_set"]))
        res = finished(run)
        chosen = request.query_params.get("scenario")
        main = [n for n in res.scenarios if not n.endswith(" alone]")]
        scenario = chosen if chosen in res.scenarios else (main[0] if main else res.scenarios[0])
        att = R.attribution(res, scenario)
        extra = {"summary.html", "business_case.xlsx", "report.html"}
        return render(request, "run.html", run=run, res=res, scenario=scenario, main=main,
                      headline=R.headline(res), flags=R.flag_reasons(res), levers=R.lever_rows(res),
                      outcomes=R.outcomes_rows(res, scenario), front_door=R.front_door_rows(res, scenario),
                      attribution=att, risk=R.risk_tables(res), words=R.FILE_WORDS,
                      papers=[f for f in res.files if f in extra],
                      charts={"savings": R.figure_json(R.run_savings_figure(res, main)),
                              "placements": R.figure_json(R.placement_figure(res, scenario)),
                              "plans": R.figure_json(R.front_door_figure(res, scenario)),
                              "attribution": R.figure_json(R.attribution_figure(att, res.last_year)) if att else None})

    @app.get("/runs/{rid}/status")
    async def run_status(rid: int):
        run = run_or_404(rid)
        return JSONResponse({k: run[k] for k in ("status", "stage", "done", "total", "seconds_left", "message")})

    @app.post("/runs/{rid}/cancel")
    async def cancel(request: Request, rid: int):
        await posted(request)
        run_or_404(rid)
        queue.cancel(rid)
        return back(f"/runs/{rid}")

    @app.post("/runs/{rid}/again")
    async def again(request: Request, rid: int):
        await posted(request)
        run = run_or_404(rid)
        new = store.add_run(run["title"], run["scenario_ids"], run["scenario_set"], run.get("draws", 0))
        queue.submit()
        return back(f"/runs/{new}")

    @app.get("/runs/{rid}/scenario_set.yaml")
    async def run_yaml(rid: int):
        run = run_or_404(rid)
        return _yaml_download(run["scenario_set"], f"run-{rid}-scenarios.yaml")

    @app.get("/runs/{rid}/files/{name}")
    async def run_file(rid: int, name: str):
        res = finished(run_or_404(rid))
        if name not in res.files:  # only what the manifest lists, never a child-level file
            raise Page("This run has no such file.", 404)
        return FileResponse(res.folder / name, filename=name if not name.endswith(".html") else None)

    @app.get("/runs/{rid}/business_case.xlsx")
    async def workbook(rid: int):
        run = run_or_404(rid)
        res = finished(run)
        if "business_case.xlsx" in res.files:
            p = res.folder / "business_case.xlsx"
        else:  # the experiment wrote none: one from the run's tables
            p = run_folder(data, rid) / "exports" / "business_case.xlsx"
            if not p.exists() or p.stat().st_mtime < (res.folder / "manifest.json").stat().st_mtime:
                R.write_workbook(res, p)
        return FileResponse(p, filename=f"run-{rid}-business_case.xlsx",
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # ------------------------------------------------------------------ compare
    @app.get("/compare", response_class=HTMLResponse)
    async def compare_page(request: Request):
        done = [r for r in store.runs() if r["status"] == "finished"]
        options = []
        loaded: dict[int, R.Run] = {}
        for r in done:
            got = R.Run.read(run_folder(data, r["id"]) / RESULTS)
            if got is None:
                continue
            loaded[r["id"]] = got
            for name in [R.BASELINE] + got.scenarios:
                options.append({"value": f"{r['id']}:{name}", "run": r, "scenario": name})
        picked = request.query_params.getlist("item")
        items = []
        for v in picked:
            rid, _, name = v.partition(":")
            if rid.isdigit() and int(rid) in loaded and (name == R.BASELINE or name in loaded[int(rid)].scenarios):
                run = next(r for r in done if r["id"] == int(rid))
                items.append(R.Item(int(rid), run["title"], name, loaded[int(rid)]))
        table = R.compare(items) if len(items) >= 2 else None
        chart = R.figure_json(R.compare_figure(items)) if len(items) >= 2 else None
        return render(request, "compare.html", options=options, picked=set(picked), items=items, table=table, chart=chart)

    return app

