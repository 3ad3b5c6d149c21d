"""The tiny Transformer of *Attention Is All You Need*, small enough to show every number.

One file, top to bottom: the classes map onto the boxes of the paper's figure
(as in the Annotated Transformer), and every intermediate tensor passes through an
identity `HookPoint` named by its path in the module tree (as in TransformerLens),
so `run_with_cache` can record a whole forward pass without a single `if record:`.
Parameter names are those of ../shared/CONTRACT.md: `state_dict()` keys *are* the
contract's `param.*` names.

Three models share these blocks (../shared/CONTRACT.md's families): `Translator`
(encoder–decoder), `Bert` (the encoder alone, with a masked-word head) and `GPT` (the
encoder's blocks under a causal mask, predicting the next word).

Shapes: B batch, P positions (queries), S key positions, D d_model, H heads,
E d_head, F d_ff, V vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


@dataclass
class Config:
    d_vocab: int
    d_model: int = 16
    n_heads: int = 2
    d_head: int = 8
    d_ff: int = 32
    n_layers: dict[str, int] = field(default_factory=lambda: {"encoder": 2, "decoder": 2})
    max_len: int = 32  # rows of the position table
    max_words: int = 20  # longest sentence accepted; with <bos>/<eos> it fits max_len
    eps: float = 1e-5

    def to_dict(self) -> dict:
        return asdict(self)


class HookPoint(nn.Module):
    """The identity. Its place in the module tree names the tensor passing through it."""

    def forward(self, x: Tensor) -> Tensor:
        return x


def positional_encoding(max_len: int, d_model: int) -> Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d_model)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model))."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = pos / 10000 ** (two_i / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.float()


class MultiHeadedAttention(nn.Module):
    """softmax(Q Kᵀ / √d_k) V for every head, computed step by step so each step is a tensor."""

    def __init__(self, cfg: Config):
        super().__init__()
        H, D, E = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q, self.W_K, self.W_V = (nn.Parameter(torch.empty(H, D, E)) for _ in range(3))
        self.b_Q, self.b_K, self.b_V = (nn.Parameter(torch.zeros(H, E)) for _ in range(3))
        self.W_O = nn.Parameter(torch.empty(H, E, D))
        self.b_O = nn.Parameter(torch.zeros(D))
        for w in (self.W_Q, self.W_K, self.W_V, self.W_O):
            nn.init.normal_(w, std=1 / math.sqrt(D))
        self.hook_q, self.hook_k, self.hook_v = HookPoint(), HookPoint(), HookPoint()
        self.hook_scores, self.hook_scores_scaled = HookPoint(), HookPoint()
        self.hook_mask, self.hook_pattern = HookPoint(), HookPoint()
        self.hook_z, self.hook_out = HookPoint(), HookPoint()

    def forward(self, x_q: Tensor, x_kv: Tensor, mask: Tensor) -> Tensor:
        """x_q [B,P,D] gives the queries, x_kv [B,S,D] the keys and values; mask [B,P,S] is True where blocked."""
        q = self.hook_q(torch.einsum("bpd,hde->bhpe", x_q, self.W_Q) + self.b_Q[:, None, :])
        k = self.hook_k(torch.einsum("bsd,hde->bhse", x_kv, self.W_K) + self.b_K[:, None, :])
        v = self.hook_v(torch.einsum("bsd,hde->bhse", x_kv, self.W_V) + self.b_V[:, None, :])
        scores = self.hook_scores(q @ k.transpose(-1, -2))
        scaled = self.hook_scores_scaled(scores / math.sqrt(q.shape[-1]))
        mask = self.hook_mask(mask)
        pattern = self.hook_pattern(torch.softmax(scaled.masked_fill(mask[:, None], float("-inf")), dim=-1))
        z = self.hook_z(pattern @ v)
        return self.hook_out(torch.einsum("bhpe,hed->bpd", z, self.W_O) + self.b_O)


class LayerNorm(nn.Module):
    """(x − mean) / √(var + eps) · w + b over the model dimension (biased variance, as nn.LayerNorm)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.eps = cfg.eps
        self.w = nn.Parameter(torch.ones(cfg.d_model))
        self.b = nn.Parameter(torch.zeros(cfg.d_model))
        self.hook_mean, self.hook_var = HookPoint(), HookPoint()
        self.hook_normalized, self.hook_out = HookPoint(), HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        mean = self.hook_mean(x.mean(-1))
        var = self.hook_var(x.var(-1, unbiased=False))
        normalized = self.hook_normalized((x - mean[..., None]) / torch.sqrt(var[..., None] + self.eps))
        return self.hook_out(normalized * self.w + self.b)


class PositionwiseFeedForward(nn.Module):
    """relu(x W_in + b_in) W_out + b_out, applied to each position alone."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.W_in = nn.Parameter(torch.randn(cfg.d_model, cfg.d_ff) / math.sqrt(cfg.d_model))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_ff))
        self.W_out = nn.Parameter(torch.randn(cfg.d_ff, cfg.d_model) / math.sqrt(cfg.d_ff))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        self.hook_pre, self.hook_post, self.hook_out = HookPoint(), HookPoint(), HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        pre = self.hook_pre(x @ self.W_in + self.b_in)
        post = self.hook_post(F.relu(pre))
        return self.hook_out(post @ self.W_out + self.b_out)


class EncoderLayer(nn.Module):
    """Self-attention, add & norm, feed-forward, add & norm (post-norm, as in the paper)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.self_attn = MultiHeadedAttention(cfg)
        self.ln1 = LayerNorm(cfg)
        self.mlp = PositionwiseFeedForward(cfg)
        self.ln2 = LayerNorm(cfg)
        self.hook_resid_pre, self.hook_attn_sum = HookPoint(), HookPoint()
        self.hook_mlp_sum, self.hook_resid_post = HookPoint(), HookPoint()

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = self.hook_resid_pre(x)
        x = self.ln1(self.hook_attn_sum(x + self.self_attn(x, x, mask)))
        x = self.ln2(self.hook_mlp_sum(x + self.mlp(x)))
        return self.hook_resid_post(x)


class DecoderLayer(nn.Module):
    """Masked self-attention, add & norm, cross-attention to the encoder, add & norm, feed-forward, add & norm."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.self_attn = MultiHeadedAttention(cfg)
        self.ln1 = LayerNorm(cfg)
        self.cross_attn = MultiHeadedAttention(cfg)
        self.ln2 = LayerNorm(cfg)
        self.mlp = PositionwiseFeedForward(cfg)
        self.ln3 = LayerNorm(cfg)
        self.hook_resid_pre, self.hook_attn_sum, self.hook_cross_sum = HookPoint(), HookPoint(), HookPoint()
        self.hook_mlp_sum, self.hook_resid_post = HookPoint(), HookPoint()

    def forward(self, x: Tensor, memory: Tensor, self_mask: Tensor, cross_mask: Tensor) -> Tensor:
        x = self.hook_resid_pre(x)
        x = self.ln1(self.hook_attn_sum(x + self.self_attn(x, x, self_mask)))
        # Queries from the decoder's own stream; keys and values from the encoder's output.
        x = self.ln2(self.hook_cross_sum(x + self.cross_attn(x, memory, cross_mask)))
        x = self.ln3(self.hook_mlp_sum(x + self.mlp(x)))
        return self.hook_resid_post(x)


class Embedding(nn.Module):
    """Token embedding scaled by √d_model, plus the sinusoidal position table."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.scale = math.sqrt(cfg.d_model)
        self.W_E = nn.Parameter(torch.randn(cfg.d_vocab, cfg.d_model) / self.scale)
        self.hook_tokens, self.hook_embed, self.hook_embed_scaled = HookPoint(), HookPoint(), HookPoint()
        self.hook_pos_embed, self.hook_input = HookPoint(), HookPoint()

    def embed(self, tokens: Tensor, W_pos: Tensor) -> Tensor:
        tokens = self.hook_tokens(tokens)
        scaled = self.hook_embed_scaled(self.hook_embed(self.W_E[tokens]) * self.scale)
        pos = self.hook_pos_embed(W_pos[: tokens.shape[-1]].expand_as(scaled))
        return self.hook_input(scaled + pos)


class Encoder(Embedding):
    """Embedding, then a stack of EncoderLayers. `stack` names the entry of cfg.n_layers it reads."""

    def __init__(self, cfg: Config, stack: str = "encoder"):
        super().__init__(cfg)
        self.blocks = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers[stack]))
        self.hook_out = HookPoint()

    def forward(self, tokens: Tensor, W_pos: Tensor, mask: Tensor) -> Tensor:
        x = self.embed(tokens, W_pos)
        for block in self.blocks:
            x = block(x, mask)
        return self.hook_out(x)


class Decoder(Embedding):
    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.blocks = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_layers["decoder"]))
        self.hook_out = HookPoint()

    def forward(self, tokens: Tensor, W_pos: Tensor, memory: Tensor, self_mask: Tensor, cross_mask: Tensor) -> Tensor:
        x = self.embed(tokens, W_pos)
        for block in self.blocks:
            x = block(x, memory, self_mask, cross_mask)
        return self.hook_out(x)


class Unembed(nn.Module):
    """The final linear layer and softmax: a classification over the whole vocabulary."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.W_U = nn.Parameter(torch.randn(cfg.d_model, cfg.d_vocab) / math.sqrt(cfg.d_model))
        self.b_U = nn.Parameter(torch.zeros(cfg.d_vocab))
        self.hook_logits, self.hook_probs = HookPoint(), HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        logits = self.hook_logits(x @ self.W_U + self.b_U)
        self.hook_probs(torch.softmax(logits, dim=-1))
        return logits


class HookedModel(nn.Module):
    """What the three models share: the position table, the masks, and recording a forward pass."""

    kind = ""

    def __init__(self, cfg: Config, pad_id: int = 0):
        super().__init__()
        self.cfg = cfg
        self.pad_id = pad_id
        self.register_buffer("W_pos", positional_encoding(cfg.max_len, cfg.d_model))

    def name_hook_points(self) -> None:
        """Call once the modules exist: each HookPoint is named by its path in the module tree."""
        for name, module in self.named_modules():
            if isinstance(module, HookPoint):
                module.name = name

    def key_padding_mask(self, src: Tensor, n_queries: int) -> Tensor:
        """[B,P,S], True where the key is padding."""
        return (src == self.pad_id)[:, None, :].expand(-1, n_queries, -1)

    def causal_mask(self, tgt: Tensor) -> Tensor:
        """[B,P,P], True where the key lies in the future (or is padding): the decoder may not look ahead."""
        future = torch.triu(torch.ones(tgt.shape[1], tgt.shape[1], dtype=torch.bool, device=tgt.device), diagonal=1)
        return future[None] | self.key_padding_mask(tgt, tgt.shape[1])

    def hook_points(self) -> dict[str, HookPoint]:
        return {m.name: m for m in self.modules() if isinstance(m, HookPoint)}

    @torch.no_grad()
    def run_with_cache(self, *inputs: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The forward pass, and every tensor that went through a HookPoint, by name."""
        cache: dict[str, Tensor] = {}
        handles = [
            hp.register_forward_hook(lambda mod, args, out: cache.__setitem__(mod.name, out.detach().clone()))
            for hp in self.hook_points().values()
        ]
        try:
            logits = self(*inputs)
        finally:
            for h in handles:
                h.remove()
        return logits, cache


class Translator(HookedModel):
    """The encoder–decoder: English in, French out."""

    kind = "translator"

    def __init__(self, cfg: Config, pad_id: int = 0):
        super().__init__(cfg, pad_id)
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.unembed = Unembed(cfg)
        self.name_hook_points()

    def encode(self, src: Tensor) -> Tensor:
        return self.encoder(src, self.W_pos, self.key_padding_mask(src, src.shape[1]))

    def decode(self, memory: Tensor, src: Tensor, tgt: Tensor) -> Tensor:
        cross_mask = self.key_padding_mask(src, tgt.shape[1])
        return self.unembed(self.decoder(tgt, self.W_pos, memory, self.causal_mask(tgt), cross_mask))

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        """Logits [B,P,V]; row t predicts target token t+1 (the decoder reads <bos> + target)."""
        return self.decode(self.encode(src), src, tgt)

    @torch.no_grad()
    def greedy(self, src: Tensor, bos_id: int, eos_id: int, max_len: int | None = None) -> list[list[int]]:
        """Greedy decoding: at each step, append the most probable next token. By default up to max_words words
        and <eos>; a row that has not ended by then is cut at max_words, the limit on either side (so that any
        translation it writes reads back as a target)."""
        cut = max_len is None
        max_len = max_len or self.cfg.max_words + 1
        memory = self.encode(src)
        out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long)
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            nxt = self.decode(memory, src, out)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, self.pad_id), nxt)
            out = torch.cat([out, nxt[:, None]], dim=1)
            done |= nxt == eos_id
            if done.all():
                break
        rows = [row[1:].tolist() for row in out]
        return [row if not cut or eos_id in row else row[: self.cfg.max_words] for row in rows]


class Bert(HookedModel):
    """Encoder only: every word sees every other (no causal mask); the `mlm` head guesses masked words.

    Reads `[CLS] words [SEP]`, some words replaced by `[MASK]`; row t of the logits is the guess for position t.
    """

    kind = "bert"

    def __init__(self, cfg: Config, pad_id: int = 0):
        super().__init__(cfg, pad_id)
        self.encoder = Encoder(cfg)
        self.mlm = Unembed(cfg)
        self.name_hook_points()

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits [B,P,V]."""
        return self.mlm(self.encoder(tokens, self.W_pos, self.key_padding_mask(tokens, tokens.shape[1])))


class GPT(HookedModel):
    """Decoder only: the encoder's blocks (no cross-attention, nothing to cross to) under a causal mask.

    Reads `<bos> words`; row t of the logits predicts token t+1, seeing only tokens 0..t.
    """

    kind = "gpt"

    def __init__(self, cfg: Config, pad_id: int = 0):
        super().__init__(cfg, pad_id)
        self.decoder = Encoder(cfg, stack="decoder")
        self.unembed = Unembed(cfg)
        self.name_hook_points()

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits [B,P,V]; row t predicts token t+1."""
        return self.unembed(self.decoder(tokens, self.W_pos, self.causal_mask(tokens)))

    @torch.no_grad()
    def greedy(self, tokens: list[int], eos_id: int, max_new: int) -> list[int]:
        """Write on: append the most probable next token, up to `max_new` of them or <eos> (not returned)."""
        out = list(tokens)
        for _ in range(max_new):
            nxt = int(self(torch.tensor([out]))[0, -1].argmax())
            if nxt == eos_id:
                break
            out.append(nxt)
        return out[len(tokens):]
