"""Aggregation across seeds, bootstrap CIs, the paper's tables and figures, the report (no torch, no Ray).

    load        an experiment directory: metrics, manifest.json, missing trials, lineage
    selection   which trials feed which table (each arm's main configuration, its variants)
    stats       per-seed values, mean ± std over seeds, the paired bootstrap CI
    paper       the paper's reference numbers (paper_tables.csv)
    tables      Tables 2, 3, 5 and every configuration; family: Tables 4 and 6; render: md/csv/tex
    figures     Figs. 5-9; teleport_picture: Fig. 3
    report      all of it into one directory with a one-page report (pipelines/aggregate.py is the CLI)
"""
