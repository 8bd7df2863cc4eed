"""The pages the book must have, shared by the tests of the built site."""

# Every chapter in reading order, as docs/index.md's toctree lists them (index first).
CHAPTERS = [
    "index",
    "notation",
    "gradcheck",
    "softmax",
    "sigmoid",
    "mlp",
    "conv",
    "rnn",
    "pooling",
    "normalization",
    "dropout",
    "lstm",
    "attention",
    "embedding",
    "training",
    "api",
    "references",
    "glossary",
]
# The chapters that run code: each shows figures and ends with a passing gradient check.
EXECUTED = [
    "index",
    "gradcheck",
    "softmax",
    "sigmoid",
    "mlp",
    "conv",
    "rnn",
    "pooling",
    "normalization",
    "dropout",
    "lstm",
    "attention",
    "embedding",
    "training",
]
