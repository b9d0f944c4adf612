"""`carepath app`: the what-if web app (scenarios, background runs, results, comparisons,
exports), on FastAPI, with saved scenarios and runs in SQLite under the data folder.

See docs/app.md. Imports run one way: the app uses `experiments` and `sim` like every other
part of the application package, and runs experiments through `carepath experiment`.
"""
