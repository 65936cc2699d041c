"""One config per predictor arm: the fields every head has, then each arm's own; then their registry entries."""

from __future__ import annotations

from dataclasses import dataclass

from mopjepa.config.arms import PREDICTOR_CONFIGS, Arm, PredictorConfig, register_arm  # noqa: F401 (re-exported)
from mopjepa.config.checks import check, is_number, non_negative, positive_int


@dataclass(frozen=True)
class DenseConfig(PredictorConfig):
    """Standard JEPA: one MLP head trained by cosine regression, Eq. (2)."""


@dataclass(frozen=True)
class M3Config(PredictorConfig):
    """M3-JEPA: K experts fused by a softmax gate into one weighted-sum output."""

    K: int = 4
    """Number of experts."""

    def __post_init__(self):
        super().__post_init__()
        positive_int(self, "K")


@dataclass(frozen=True)
class VarConfig(PredictorConfig):
    """Var-JEPA, steel-manned: cosine-trained mean, residual-calibrated sigma, 1/sqrt(d) samples."""

    num_samples: int = 8
    """S: samples drawn per context for the planner (equal weights)."""

    def __post_init__(self):
        super().__post_init__()
        positive_int(self, "num_samples")


@dataclass(frozen=True)
class MDNConfig(PredictorConfig):
    """Mixture density network: K isotropic Gaussians with learned sigma, log-space NLL."""

    K: int = 8
    """Number of mixture components."""
    lam_bal: float = 0.01
    """Weight of KL(mean mixture weights || uniform), the load balance."""
    sigma_floor: float = 1e-3
    """Lower bound of every component's standard deviation."""
    sigma_fixed: float = 0.0
    """If > 0, every component's standard deviation is this constant instead of learned: the softness
    axis (a large sigma keeps responsibilities soft; a learned one sharpens them to near-hard)."""

    def __post_init__(self):
        super().__post_init__()
        positive_int(self, "K")
        non_negative(self, "lam_bal", "sigma_fixed")
        check(is_number(self.sigma_floor) and self.sigma_floor > 0, "sigma_floor", self.sigma_floor, "> 0")


ASSIGNMENTS = ("hard", "warmup", "anneal")


@dataclass(frozen=True)
class MoPConfig(PredictorConfig):
    """MoP-JEPA: K heads + a context-only router, Eq. (4)-(6)."""

    K: int = 8
    """Number of predictor heads."""
    lam_route: float = 1.0
    """Weight of the router cross-entropy on the winning head."""
    lam_bal: float = 0.1
    """Weight of KL(head usage || uniform)."""
    assignment: str = "hard"
    """'hard' (Eq. 5 from the first step), 'warmup' (soft, then hard after warmup_fraction) or
    'anneal' (softmin temperature decays linearly to hard over warmup_fraction of training)."""
    warmup_fraction: float = 0.05
    """Fraction of the step budget spent soft for 'warmup'/'anneal' (the paper's slow anneal: 0.8)."""
    soft_temperature: float = 0.1
    """Softmin temperature over head distances while the assignment is soft."""
    bal_temperature: float = 0.1
    """Softmin temperature of the differentiable head-usage surrogate that carries the load balance's
    gradient (hard usage has none); the balance term's value is still Eq. (6)'s KL of hard usage."""

    def __post_init__(self):
        super().__post_init__()
        positive_int(self, "K")
        non_negative(self, "lam_route", "lam_bal")
        check(is_number(self.bal_temperature) and self.bal_temperature > 0,
               "bal_temperature", self.bal_temperature, "> 0")
        check(self.assignment in ASSIGNMENTS, "assignment", self.assignment, f"one of {ASSIGNMENTS}")
        check(0.0 <= self.warmup_fraction <= 1.0, "warmup_fraction", self.warmup_fraction, "in [0, 1]")
        check(is_number(self.soft_temperature) and self.soft_temperature > 0,
               "soft_temperature", self.soft_temperature, "> 0")


@dataclass(frozen=True)
class CodebookConfig(PredictorConfig):
    """Control: K learned vectors that ignore the input, trained winner-take-all."""

    K: int = 8
    """Number of codebook vectors."""
    lam_bal: float = 0.1
    """Weight of MoP's load balance on codeword usage (keeps codewords alive; 0 = plain WTA)."""
    bal_temperature: float = 0.1
    """Softmin temperature of the usage surrogate, as in MoPConfig."""

    def __post_init__(self):
        super().__post_init__()
        positive_int(self, "K")
        non_negative(self, "lam_bal")
        check(is_number(self.bal_temperature) and self.bal_temperature > 0,
               "bal_temperature", self.bal_temperature, "> 0")


@dataclass(frozen=True)
class EnsembleConfig(PredictorConfig):
    """Ablation: K dense heads, each trained independently with the dense loss (no assignment)."""

    K: int = 8
    """Number of independent heads."""

    def __post_init__(self):
        super().__post_init__()
        positive_int(self, "K")


# The registry entries of the paper's arms: config type, predictor (loaded on first use), label, colour.
# One arm, one line (docs/architecture.md#4-how-to-add-an-arm); the colours are matplotlib's tab10.
_PREDICTORS = "mopjepa.model.predictors"
register_arm(Arm("dense", DenseConfig, f"{_PREDICTORS}.dense:DensePredictor", "dense (JEPA)", "#d62728"))
register_arm(Arm("m3", M3Config, f"{_PREDICTORS}.m3:M3Predictor", "M3-JEPA", "#ff7f0e"))
register_arm(Arm("var", VarConfig, f"{_PREDICTORS}.var:VarPredictor", "Var-JEPA", "#9467bd"))
register_arm(Arm("mdn", MDNConfig, f"{_PREDICTORS}.mdn:MDNPredictor", "MDN", "#2ca02c"))
register_arm(Arm("mop", MoPConfig, f"{_PREDICTORS}.mop:MoPPredictor", "MoP-JEPA", "#1f77b4"))
register_arm(Arm("codebook", CodebookConfig, f"{_PREDICTORS}.codebook:CodebookPredictor", "codebook (control)",
                 "#7f7f7f"))
register_arm(Arm("ensemble", EnsembleConfig, f"{_PREDICTORS}.ensemble:EnsemblePredictor", "ensemble (ablation)",
                 "#8c564b"))
