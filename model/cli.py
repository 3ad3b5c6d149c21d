"""`python -m model …`: train, evaluate, translate, trace, vocab, examples."""

from __future__ import annotations

import argparse

from . import MODELS
from .errors import ArgumentParser, InputError, run_reporting_errors


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="translator", choices=MODELS, help="which model (default: translator)")


def _allow_unknown_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-unknown", action="store_true",
                   help="read words the model does not know as <unk> (default: stop and name them)")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m model", description="The tiny Transformer behind transformer-reel.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    p = sub.add_parser("train", help="train from scratch and write assets/<model>.pt")
    _model_arg(p)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the tuned number)")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("evaluate", help="held-out figures: translator exact match, bert masked accuracy, gpt perplexity")
    _model_arg(p)

    p = sub.add_parser("translate", help="translate an English sentence")
    p.add_argument("sentence")
    _model_arg(p)
    _allow_unknown_arg(p)

    p = sub.add_parser("trace", help="record every tensor of one forward pass into a .trace.npz")
    _model_arg(p)
    p.add_argument("--sentence", default=None, help="English input (default: a sentence showing reordering; "
                   "for bert, with one word written as [MASK])")
    p.add_argument("--target", default=None, help="translator only: French the decoder reads (default: the model's own translation)")
    p.add_argument("--mask-word", default=None, metavar="W", help="bert only: mask the first W of the sentence")
    p.add_argument("--snapshot", type=int, default=None, metavar="STEP",
                   help="translator only: the weights as they were at this step of training (one of the shipped snapshots)")
    p.add_argument("--out", required=True, help="output file, ending in .trace.npz")
    _allow_unknown_arg(p)

    p = sub.add_parser("vocab", help="list the known words")
    p.add_argument("--language", choices=("en", "fr"), default=None, help="only English (en) or French (fr) words")

    p = sub.add_parser("examples", help="sentences the translator knows, with their French (never seen in training)")
    p.add_argument("--n", type=int, default=9, help="how many (default: 9, short to long)")
    return parser


def _training_module(name: str):
    """model.train for the translator, model.families for bert and gpt: both offer TrainConfig, train, save, evaluate."""
    if name == "translator":
        from . import train
    else:
        from . import families as train
    return train


def run(args: argparse.Namespace) -> int:
    if args.command == "train":
        training = _training_module(args.model)
        tc = training.TrainConfig(seed=args.seed)
        if args.steps is not None:
            if args.steps < 1:
                raise InputError("--steps must be at least 1")
            tc.steps = args.steps
        model, tok, progress = training.train(args.model, tc)
        training.save(model, tok, args.model, progress, tc)
        extra = "; its snapshots and loss curve beside it" if args.model == "translator" else ""
        print(f"trained {args.model} in {progress.seconds:.0f} s; wrote assets/{args.model}.pt{extra}")
    elif args.command == "evaluate":
        _training_module(args.model).evaluate(args.model)
    elif args.command == "translate":
        from .trace import translate

        print(translate(args.sentence, args.model, allow_unknown=args.allow_unknown))
    elif args.command == "trace":
        from .trace import record

        if not args.out.endswith(".npz"):
            raise InputError(f"--out must end in .trace.npz (got {args.out})")
        if args.target is not None and args.model != "translator":
            raise InputError(f"--target is the translator's French; {args.model} reads only --sentence")
        if args.mask_word is not None and args.model != "bert":
            raise InputError(f"--mask-word is for --model bert; {args.model} masks no words")
        if args.snapshot is not None and args.model != "translator":
            raise InputError(f"--snapshot is for the translator; {args.model} ships its final weights only")
        trace = record(args.model, args.sentence, args.target, mask_word=args.mask_word, snapshot=args.snapshot,
                       allow_unknown=args.allow_unknown)
        trace.save(args.out)
        print(f"{trace.sentence} → {trace.output}")
        print(f"wrote {args.out}")
    elif args.command == "vocab":
        from . import VOCAB
        from .tokenizer import Tokenizer

        tok = Tokenizer.load(VOCAB)
        print("\n".join(tok.words_of(args.language)))
    elif args.command == "examples":
        from .corpus import examples

        if args.n < 1:
            raise InputError("--n must be at least 1")
        for en, fr in examples(args.n):
            print(f"{en}\n    → {fr}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run(args))
