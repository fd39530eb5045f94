"""Writes a fuzz target's seed corpus: one file per named seed (used by the make_*_corpus scripts)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write_corpus(directory, seeds):
    """seeds: (name, seed) pairs, each seed's bytes in seed.out; written to tests/fuzz/<directory>."""
    out_dir = os.path.join(HERE, directory)
    os.makedirs(out_dir, exist_ok=True)
    for name, seed in seeds:
        with open(os.path.join(out_dir, name), 'wb') as f:
            f.write(bytes(seed.out))
        print('%-34s %5d bytes' % (name, len(seed.out)))
