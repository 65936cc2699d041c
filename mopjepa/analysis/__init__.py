"""The paper's tables, figures and claims from an experiment's Parquet results (no torch, no Ray).

    evidence    everything they read, gathered once: metrics (with the record's reference ceilings),
                the selection of trials, the paper's numbers, curves, episodes, the trials not complete
    artefacts   every table and figure, by what it is about, listed once in ARTEFACTS (find "Table 4"
                or "Fig. 7" there): planning, coverage, execution, studies, action_context, training,
                branch_sweep
    claims      the paper's claims: rules (one verdict each) and page (claims.md, README, docs)
    report      all of it into one directory with a one-page report (pipelines/aggregate.py is the CLI)
    load, selection, stats, render, plotting, paper, references   what the above are made of
"""
