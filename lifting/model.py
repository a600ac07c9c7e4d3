"""The lifters: a spatio-temporal transformer (DSTformer-style) and a single-frame MLP baseline.

Both map (B, F, J, 3) inputs [x, y, conf] (normalised screen coordinates, :mod:`spine3d.lifting.normalize`)
to (B, F, J, 3) millimetres in the camera frame, one pose per input frame (seq2seq). The networks
work in metres: the head's output is multiplied by ``OUTPUT_SCALE_MM`` (1000), so targets of a few
hundred mm are O(1) for the layers. Every joint is predicted, the root included; callers make the
prediction root-relative (subtract its root) before scoring.

SpineLifter (after MotionBERT's DSTformer, Zhu et al. 2023): a joint embedding Linear(5 -> dim) of each
keypoint's features, optionally plus a pose embedding (below), learned spatial (J, dim) and temporal
(F, dim) position embeddings, then ``depth`` layers. A layer is either one spatial block (attention
over the J joints of each frame) followed by one temporal block (attention over the F frames of each
joint), or with ``dual_stream`` two streams, S->T and T->S, whose outputs are fused per token by
learned softmax weights alpha = softmax(W [s2t, t2s]). Blocks are pre-norm (LayerNorm -> attention ->
residual, LayerNorm -> MLP -> residual); attention uses ``torch.nn.functional.scaled_dot_product_attention``.

Pose embedding (``ModelConfig.pose_embedding``, on in the shipped configs): Linear(J x 5 -> J x dim)
of the whole frame's features, added to the tokens, so every token starts from all keypoints (as the
MLP's first layer does) rather than from its own keypoint only. Without it, under detector noise the
transformer carried each keypoint's jitter into its own output: on the noisiest markers it was worse
than the single-frame MLP (Spine_03 P-MPJPE 8.9 vs 6.4 mm after 3 epochs), and 2.6 % better overall
on the spine joints; with it, 7.6 vs 10.5 mm (README, "Lifters").

MLPLifter (Martinez et al. 2017, "A simple yet effective baseline"): per frame, the J x 5 encoded inputs ->
Linear(dim) -> ``depth`` residual blocks of two (Linear, LayerNorm, ReLU, Dropout) -> Linear(J x 3).
LayerNorm replaces the paper's BatchNorm so that the result does not depend on how a batch is split
across processes.

Joints without training data: both models hold ``trained_joints`` (J,) bool, a buffer saved with the
weights and set by the trainer to the joints with a 3D target in the training data. Inputs of the other
joints are ignored (:func:`ignore_untrained`) and :func:`spine3d.lifting.infer.lift_sequence` returns NaN
for them: the model never learnt where they are.

Input encoding (both models, :func:`encode_inputs`, ``ModelConfig.input_norm``):

- "screen": each frame's keypoints are re-expressed relative to their confidence-weighted 2D centre
  and scaled by ``INPUT_SCALE``, and the centre itself is kept as two more channels: (x - cx, y - cy)
  * INPUT_SCALE, conf, cx, cy per joint. Raw screen coordinates vary by ~0.1 within a pose around an
  offset that depends on where the person stands; fed as they are, the pose-dependent part of every
  token is a few per cent of its constant part (bias, confidence, position embeddings) and the
  transformer sat at the mean-pose solution for whole epochs. Centred and scaled, the pose is O(1).
  The person's size in the image (focal length / distance / image width) still enters the input.
- "pose": (x - bx, y - by) / s, conf per joint, with (bx, by) the centre of the frame's box around
  its seen keypoints and s half the mean over the window's frames of the box's longer side. The
  input is then the same whatever the image size, its aspect ratio, the focal length and the
  distance (up to perspective), so a model trained on Human3.6M's four cameras and random virtual
  ones reads any camera's keypoints; the output (root-relative mm) comes from the learnt body size.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as nnf
from einops import rearrange
from torch import nn

from spine3d.lifting.config import ModelConfig
from spine3d.errors import InputError

OUTPUT_SCALE_MM = 1000.0  # the networks predict metres; outputs are in millimetres
INPUT_SCALE = 4.0  # "screen": centred screen coordinates (a standing person spans ~0.8) times this: O(1) features
ENCODED_CHANNELS = {"screen": 5, "pose": 3}  # features per joint of each input_norm
InputNorm = Literal["screen", "pose"]


def encode_inputs(x: torch.Tensor, norm: InputNorm = "screen") -> torch.Tensor:
    """The models' input features (module docstring).

    Args:
        x: (B, F, J, 3) [x, y, conf], normalised screen coordinates; conf 0 marks a missing point.
        norm: "screen" or "pose".

    Returns:
        "screen": (B, F, J, 5) [(x - cx) * s, (y - cy) * s, conf, cx, cy], with (cx, cy) the frame's
        confidence-weighted mean of x, y (0 when no point is seen) and s = INPUT_SCALE.
        "pose": (B, F, J, 3) [(x - bx) / s, (y - by) / s, conf] (module docstring).
        The centred coordinates of a missing point are 0.
    """
    xy, conf = x[..., :2], x[..., 2:]
    seen = (conf > 0).to(x.dtype)
    if norm == "pose":
        return torch.cat([_box_normalised(xy, seen), conf], dim=-1)
    weight = conf * seen
    centre = (xy * weight).sum(dim=-2, keepdim=True) / weight.sum(dim=-2, keepdim=True).clamp_min(1e-6)
    rel = (xy - centre) * (INPUT_SCALE * seen)
    return torch.cat([rel, conf, centre.expand_as(xy)], dim=-1)


def ignore_untrained(x: torch.Tensor, trained: torch.Tensor) -> torch.Tensor:
    """(B, F, J, 3) inputs with the joints the training data never had (``trained`` (J,) bool False) missing.

    Such a joint (e.g. the eyes and ears: Human3.6M has none, so neither has SIMSPINE-37's training
    data) never reached the model in training; a value there would be an input it has never seen.
    """
    return x * trained.to(x.dtype)[:, None]


def _box_normalised(xy: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
    """(B, F, J, 2) keypoints, (B, F, J, 1) 0/1 -> (B, F, J, 2) relative to each frame's box of seen points,
    in units of half the window's mean box side (frames with fewer than 2 seen points do not count)."""
    big = torch.finfo(xy.dtype).max
    lo = torch.where(seen > 0, xy, big).amin(dim=-2, keepdim=True)    # (B, F, 1, 2)
    hi = torch.where(seen > 0, xy, -big).amax(dim=-2, keepdim=True)
    framed = (seen.sum(dim=-2, keepdim=True) >= 2).to(xy.dtype)      # (B, F, 1, 1) frames with a box
    side = ((hi - lo).amax(dim=-1, keepdim=True) * framed).nan_to_num(0.0)  # (B, F, 1, 1)
    scale = side.sum(dim=1, keepdim=True) / framed.sum(dim=1, keepdim=True).clamp_min(1.0) / 2  # (B, 1, 1, 1)
    any_seen = seen.sum(dim=-2, keepdim=True) > 0
    centre = torch.where(any_seen, (lo + hi) / 2, torch.zeros_like(lo))
    return (xy - centre) / scale.clamp_min(1e-3) * seen


AttentionAxis = Literal["spatial", "temporal"]  # attend over the joints of a frame, or the frames of a joint


class Attention(nn.Module):
    """Multi-head self-attention over the joints ("spatial") or the frames ("temporal") of (B, F, J, dim)."""

    _GROUPS = {"spatial": ("b f j (three h d) -> three (b f) h j d", "(b f) h j d -> b f j (h d)"),
               "temporal": ("b f j (three h d) -> three (b j) h f d", "(b j) h f d -> b f j (h d)")}

    def __init__(self, dim: int, heads: int, dropout: float, axis: AttentionAxis) -> None:
        super().__init__()
        if axis not in self._GROUPS:
            raise ValueError(f"axis must be 'spatial' or 'temporal', got {axis!r}")
        self.heads, self.dropout, self.axis = heads, dropout, axis
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split, merge = self._GROUPS[self.axis]
        q, k, v = rearrange(self.qkv(x), split, three=3, h=self.heads)
        out = nnf.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj_drop(self.proj(rearrange(out, merge, b=x.shape[0])))


class Block(nn.Module):
    """Pre-norm transformer block on (B, F, J, dim); only the attention groups tokens by ``axis``."""

    def __init__(self, cfg: ModelConfig, axis: AttentionAxis) -> None:
        super().__init__()
        hidden = int(cfg.dim * cfg.mlp_ratio)
        self.norm1, self.norm2 = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.attn = Attention(cfg.dim, cfg.heads, cfg.dropout, axis)
        self.mlp = nn.Sequential(nn.Linear(cfg.dim, hidden), nn.GELU(), nn.Dropout(cfg.dropout),
                                 nn.Linear(hidden, cfg.dim), nn.Dropout(cfg.dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Layer(nn.Module):
    """One depth step: S then T, or (dual stream) S->T and T->S fused by per-token softmax weights."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.s2t = nn.Sequential(Block(cfg, "spatial"), Block(cfg, "temporal"))
        self.dual = cfg.dual_stream
        if self.dual:
            self.t2s = nn.Sequential(Block(cfg, "temporal"), Block(cfg, "spatial"))
            self.fuse = nn.Linear(2 * cfg.dim, 2)
            self.reset_fusion()

    def reset_fusion(self) -> None:
        """Start the dual-stream fusion as the plain average of both streams."""
        if self.dual:
            nn.init.zeros_(self.fuse.weight)
            nn.init.zeros_(self.fuse.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.s2t(x)
        if not self.dual:
            return a
        b = self.t2s(x)
        alpha = self.fuse(torch.cat([a, b], dim=-1)).softmax(dim=-1)  # (B, F, J, 2)
        return a * alpha[..., :1] + b * alpha[..., 1:]


def _check_input(x: torch.Tensor, num_joints: int, frames: int | None) -> None:
    if x.ndim != 4 or x.shape[2] != num_joints or x.shape[3] != 3:
        raise InputError(f"lifter input must have shape (B, F, {num_joints}, 3) [x, y, conf], got {tuple(x.shape)}")
    if frames is not None and x.shape[1] > frames:
        raise InputError(f"lifter input has {x.shape[1]} frames; this model takes at most {frames} per window")


class SpineLifter(nn.Module):
    """Spatio-temporal transformer lifter: (B, F', J, 3) inputs -> (B, F', J, 3) mm, F' <= cfg.frames."""

    def __init__(self, cfg: ModelConfig, num_joints: int) -> None:
        super().__init__()
        self.cfg, self.num_joints = cfg, num_joints
        self.register_buffer("trained_joints", torch.ones(num_joints, dtype=torch.bool))
        channels = ENCODED_CHANNELS[cfg.input_norm]
        self.embed = nn.Linear(channels, cfg.dim)
        self.pose_embed = nn.Linear(num_joints * channels, num_joints * cfg.dim) if cfg.pose_embedding else None
        self.pos_joint = nn.Parameter(torch.zeros(num_joints, cfg.dim))
        self.pos_frame = nn.Parameter(torch.zeros(cfg.frames, cfg.dim))
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.pre_head = nn.Sequential(nn.Linear(cfg.dim, cfg.dim), nn.Tanh())  # MotionBERT's representation layer
        self.head = nn.Linear(cfg.dim, 3)
        nn.init.trunc_normal_(self.pos_joint, std=0.02)
        nn.init.trunc_normal_(self.pos_frame, std=0.02)
        self.apply(_init_linear)
        for layer in self.layers:
            layer.reset_fusion()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.num_joints, self.cfg.frames)
        f = x.shape[1]
        features = encode_inputs(ignore_untrained(x, self.trained_joints), self.cfg.input_norm)
        h = self.embed(features) + self.pos_joint + self.pos_frame[:f, None, :]
        if self.pose_embed is not None:
            pose = self.pose_embed(rearrange(features, "b f j c -> b f (j c)"))
            h = h + rearrange(pose, "b f (j d) -> b f j d", j=self.num_joints)
        h = self.drop(h)
        for layer in self.layers:
            h = layer(h)
        return self.head(self.pre_head(self.norm(h))) * OUTPUT_SCALE_MM


class MLPLifter(nn.Module):
    """Single-frame MLP baseline: (B, F, J, 3) -> (B, F, J, 3) mm, each frame lifted on its own."""

    def __init__(self, cfg: ModelConfig, num_joints: int) -> None:
        super().__init__()
        self.cfg, self.num_joints = cfg, num_joints
        self.register_buffer("trained_joints", torch.ones(num_joints, dtype=torch.bool))
        self.inp = nn.Linear(num_joints * ENCODED_CHANNELS[cfg.input_norm], cfg.dim)
        self.blocks = nn.ModuleList(
            nn.Sequential(*[m for _ in range(2) for m in (nn.Linear(cfg.dim, cfg.dim), nn.LayerNorm(cfg.dim),
                                                          nn.ReLU(), nn.Dropout(cfg.dropout))])
            for _ in range(cfg.depth))
        self.out = nn.Linear(cfg.dim, num_joints * 3)
        self.apply(_init_linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.num_joints, None)
        features = encode_inputs(ignore_untrained(x, self.trained_joints), self.cfg.input_norm)
        h = self.inp(rearrange(features, "b f j c -> b f (j c)"))
        for block in self.blocks:
            h = h + block(h)
        return rearrange(self.out(h), "b f (j c) -> b f j c", c=3) * OUTPUT_SCALE_MM


def _init_linear(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        nn.init.zeros_(m.bias)


def build_model(cfg: ModelConfig, num_joints: int) -> nn.Module:
    """The lifter ``cfg.kind`` names, for ``num_joints`` joints."""
    if cfg.kind == "transformer":
        return SpineLifter(cfg, num_joints)
    if cfg.kind == "mlp":
        return MLPLifter(cfg, num_joints)
    raise InputError(f"unknown model kind {cfg.kind!r}; expected 'transformer' or 'mlp'")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
