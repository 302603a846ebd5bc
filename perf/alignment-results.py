#!/usr/bin/python3
"""Computes the alignment results table (issue 7 acceptance) with the nativealign CLI and prints it as markdown.

Every number comes from a `nativealign` run (align + eval aer, eval tatoeba, mine); this script only prepares inputs
(MultiMWA text columns, seeded shuffles) and counts mined pairs that are true pairs. Usage:
  perf/alignment-results.sh [--model DIR] [--layer N] [--out DIR]
"""
import argparse, json, os, random, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = os.path.normpath(os.path.join(root, "..", "shared", "data"))
ap = argparse.ArgumentParser()
ap.add_argument("--cli", required=True, help="command prefix that runs nativealign")
ap.add_argument("--model", default=None)
ap.add_argument("--layer", default=None)
ap.add_argument("--out", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "nativealign-results"))
ap.add_argument("--data", default=data)
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
cli = args.cli.split()
model = ["--model", args.model] if args.model else []
wa = os.path.join(args.data, "word-alignment")


def run(*a):
    r = subprocess.run(cli + list(a), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(a)}\n{r.stderr}")
    if r.stderr.strip():
        print(r.stderr.strip(), file=sys.stderr)
    return r.stdout


def multimwa_text(name):
    """The MultiMWA TSV's sentence columns (2 and 4) as 'src ||| tgt' lines and as two line files."""
    src, tgt = [], []
    with open(os.path.join(wa, name), encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            src.append(cols[1].strip()); tgt.append(cols[3].strip())
    joined = os.path.join(args.out, name + ".src-tgt")
    with open(joined, "w", encoding="utf-8") as f:
        f.writelines(f"{s} ||| {t}\n" for s, t in zip(src, tgt))
    return joined, src, tgt


methods = ["argmax", "itermax", "match", "softmax", "ot", "uot", "pot"]
mtref_joined, mtref_src, mtref_tgt = multimwa_text("mtref-dev.tsv")
wiki_joined, wiki_src, wiki_tgt = multimwa_text("wiki-dev.tsv")
sets = [("En–Fr", os.path.join(wa, "enfr.src-tgt"), os.path.join(wa, "enfr.gold"), True),
        ("Ro–En", os.path.join(wa, "roen.src-tgt"), os.path.join(wa, "roen.gold"), True),
        ("MultiMWA mtref-dev", mtref_joined, os.path.join(wa, "mtref-dev.tsv"), False)]
layer = ["--layer", args.layer] if args.layer is not None else []
words = {}
t0 = time.time()
for m in methods:
    for name, text, gold, one in sets:
        pred = os.path.join(args.out, f"{name.split()[0].replace('–', '')}-{m}.pharaoh")
        run("align", *model, *layer, "--input", text, "--method", m, "--output", pred)
        s = json.loads(run("eval", "aer", "--gold", gold, "--pred", pred, "--text", text, "--json", *(["--one-indexed"] if one else [])))
        words[(m, name)] = s
        print(f"{m:8s} {name:20s} AER {s['aer']:.4f} P {s['precision']:.4f} R {s['recall']:.4f} F1 {s['f1']:.4f}", file=sys.stderr)

tatoeba = json.loads(run("eval", "tatoeba", *model, "--data", os.path.join(args.data, "tatoeba"), "--json"))


def mining(name, src, tgt, seed=7):
    """P@N of `nativealign mine` (ratio margin, k=4, max strategy) with the target side shuffled; N = true pairs."""
    perm = list(range(len(tgt)))
    random.Random(seed).shuffle(perm)          # target line p holds original line perm[p]
    fs, ft, fo = (os.path.join(args.out, f"mine-{name}.{x}") for x in ("src", "tgt", "tsv"))
    with open(fs, "w", encoding="utf-8") as f:
        f.writelines(s + "\n" for s in src)
    with open(ft, "w", encoding="utf-8") as f:
        f.writelines(tgt[perm[p]] + "\n" for p in range(len(tgt)))
    run("mine", *model, "--src", fs, "--tgt", ft, "--output", fo, "--indices")
    n = len(src)
    top = []
    with open(fo, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            top.append((int(cols[3]) - 1, int(cols[4]) - 1))
    correct = sum(1 for s, t in top[:n] if perm[t] == s)
    return correct / n, n


mined = [("MultiMWA wiki-dev (En–En)", *mining("wiki-dev", wiki_src, wiki_tgt)),
         ("MultiMWA mtref-dev (En–En)", *mining("mtref-dev", mtref_src, mtref_tgt))]
tdir = os.path.join(args.data, "tatoeba")
for row in tatoeba["languages"]:
    lang = row["lang"]
    with open(os.path.join(tdir, f"tatoeba.{lang}-eng.{lang}"), encoding="utf-8") as f:
        xx = [l.rstrip("\n") for l in f]
    with open(os.path.join(tdir, f"tatoeba.{lang}-eng.eng"), encoding="utf-8") as f:
        en = [l.rstrip("\n") for l in f]
    mined.append((f"Tatoeba {lang}→eng", *mining(f"tatoeba-{lang}", xx, en)))

elapsed = time.time() - t0
out = []
out.append("#### Word alignment (whitespace words; gold: awesome-align's En–Fr / Ro–En test sets, MultiMWA mtref-dev)\n")
out.append("| method | En–Fr AER ↓ | En–Fr P / R / F1 | Ro–En AER ↓ | Ro–En P / R / F1 | mtref-dev F1 ↑ (P / R) |")
out.append("|---|---:|---|---:|---|---|")
for m in methods:
    ef, ro, mt = words[(m, "En–Fr")], words[(m, "Ro–En")], words[(m, "MultiMWA mtref-dev")]
    out.append(f"| {m} | {ef['aer']*100:.1f} | {ef['precision']*100:.1f} / {ef['recall']*100:.1f} / {ef['f1']*100:.1f} "
               f"| {ro['aer']*100:.1f} | {ro['precision']*100:.1f} / {ro['recall']*100:.1f} / {ro['f1']*100:.1f} "
               f"| {mt['f1']*100:.1f} ({mt['precision']*100:.1f} / {mt['recall']*100:.1f}) |")
out.append("| *published, mBERT: awesome-align (fine-tuned)* | *5.6* | | *27.9* | | |")
out.append("| *published, mBERT: SimAlign (itermax/argmax)* | *7.6* | | *27.2* | | |")
out.append("\n#### Tatoeba retrieval accuracy (`nativealign eval tatoeba`, cosine top-1)\n")
out.append("| lang | pairs | xx→eng % | eng→xx % |")
out.append("|---|---:|---:|---:|")
for row in tatoeba["languages"]:
    out.append(f"| {row['lang']} | {row['pairs']} | {row['xxToEng']:.2f} | {row['engToXx']:.2f} |")
out.append(f"| **average** | | **{tatoeba['averageXxToEng']:.2f}** | **{tatoeba['averageEngToXx']:.2f}** |")
out.append("\n#### Bitext mining P@N (`nativealign mine`, ratio margin, k = 4, max strategy; second side shuffled, N = true pairs)\n")
out.append("| pairs | N | P@N % |")
out.append("|---|---:|---:|")
for name, p, n in mined:
    out.append(f"| {name} | {n} | {p*100:.2f} |")
out.append(f"\n_{elapsed:.0f} s for the whole table._")
print("\n".join(out))
