#!/usr/bin/env python3
"""Generate models/taxonomy.tsv: readable names and general parent concepts for ImageNet-1k classes.

    apt-get install -y wordnet-base      # WordNet 3.0 database in /usr/share/wordnet
    python3 tools/make_taxonomy.py       # downloads the timm wheel for the class list

Inputs:
- the 1000 WordNet synset ids in class order and their lemmas, from the timm wheel (Apache-2.0):
  `timm/data/_info/imagenet_synsets.txt`, `timm/data/_info/imagenet_synset_to_lemma.txt`;
- hypernym chains from Debian's `wordnet-base` (WordNet licence): an ImageNet id `nXXXXXXXX` is the
  byte offset of the synset's line in `/usr/share/wordnet/data.noun`.

Output (tab separated, one line per class in class order, after a `#` header):
`index  synset  name  parents`, where `name` is a readable tag (first lemma, underscores → spaces,
with a few hand-written overrides below for ambiguous or unhelpful names) and `parents` is a
comma-separated list of the curated concepts (CONCEPTS below) that are WordNet hypernyms of the class.
The tagger gives each concept the summed probability of all classes that list it.
"""
import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

TIMM = "timm==1.0.31"
WORDNET = Path("/usr/share/wordnet/data.noun")

# Curated general concepts: tag name → WordNet synsets whose descendants (or themselves) carry it;
# a synset prefixed with "-" excludes its descendants.
# Chosen to be what a person searching a photo library types; most specific first is not required.
CONCEPTS = {
    "animal": ["n00015388"],
    "mammal": ["n01861778"],
    "dog": ["n02084071"],
    "cat": ["n02121620"],
    "big cat": ["n02127808"],
    "bear": ["n02131653"],
    "primate": ["n02469914"],
    "monkey": ["n02484322"],
    "bird": ["n01503061"],
    "fish": ["n02512053"],
    "shark": ["n01482330"],
    "insect": ["n02159955"],
    "butterfly": ["n02274259"],
    "spider": ["n01772222"],
    "reptile": ["n01661091"],
    "snake": ["n01726692"],
    "lizard": ["n01674464"],
    "turtle": ["n01662784"],
    "amphibian": ["n01627424"],
    "frog": ["n01639765"],
    "vehicle": ["n04524313"],
    "car": ["n02958343"],
    "truck": ["n04490091"],
    "bus": ["n02924116"],
    "bicycle": ["n02834778"],
    "motorcycle": ["n03790512"],
    "train": ["n04468005"],
    "boat": ["n04530566"],  # "vessel, watercraft": boats and ships alike
    "aircraft": ["n02686568"],
    "food": ["n00021265", "n07555863", "-n07881800", "-n07802026"],  # both food senses minus drinks, hay
    "fruit": ["n07705931"],  # edible fruit, not the botanical sense (acorns, hips)
    "vegetable": ["n07707451"],
    "drink": ["n07881800"],
    "coffee": ["n07929519"],
    "dish": ["n07557434"],
    "dessert": ["n07609840"],
    "furniture": ["n03405725"],
    "building": ["n02913152"],
    "structure": ["n04341686"],
    "bridge": ["n02898711"],
    "plant": ["n00017222", "n13086908", "-n07705931", "-n07707451"],  # plants, plant parts, not produce
    "flower": ["n11669921"],
    "fungus": ["n12992868"],
    "clothing": ["n03051540"],
    "footwear": ["n03381126", "n03380867"],
    "hat": ["n03497657"],
    "musical instrument": ["n03800933"],
    "sports equipment": ["n04285146"],
    "ball": ["n02778669", "n02779435"],
    "device": ["n03183080"],
    "computer": ["n03082979"],
    "electronics": ["n03278248", "n04400289", "n04401088", "n03082979"],
    "tool": ["n04451818"],
    "container": ["n03094503", "-n04524313"],  # WordNet files wheeled vehicles under container
    "kitchen utensil": ["n03621049"],
    "home appliance": ["n03528263"],
    "weapon": ["n04565375"],
    "toy": ["n03964744"],
    "person": ["n00007846"],
    "landscape": ["n09287968"],  # geological formations: cliffs, valleys, volcanoes, shores, reefs
}

# Readable names where the first lemma is ambiguous, duplicated or unhelpful as a tag.
NAME_OVERRIDES = {
    "n02123045": "tabby cat",  # first lemma "tabby" alone reads oddly as a tag
    "n02012849": "crane (bird)",  # two classes share the lemma "crane"
    "n03126707": "crane (machine)",
    "n02113186": "cardigan welsh corgi",  # "cardigan" is also the sweater class
    "n02113023": "pembroke welsh corgi",
    "n03710637": "maillot",  # two classes share "maillot"; the second is the tank suit
    "n03710721": "tank suit",
    "n02704792": "amphibious vehicle",  # "amphibian" is the animal concept
    "n03595614": "t-shirt",  # first lemma "jersey"
    "n04355933": "sunglass lens",  # vs the "sunglasses" class
}


# Classes whose WordNet sense differs from what the photos show.
PARENT_OVERRIDES = {
    "n07930864": ["container"],  # "cup" is the punch drink in WordNet; ImageNet's photos are cups
}


def covers(ids, up):
    """Whether a class with ancestor set `up` falls under a concept's include/exclude synsets."""
    include = {i for i in ids if not i.startswith("-")}
    exclude = {i[1:] for i in ids if i.startswith("-")}
    return bool(up & include) and not (up & exclude)


def download_timm(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", TIMM, "-d", tmp], check=True)
    (wheel,) = Path(tmp).glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        synsets = z.read("timm/data/_info/imagenet_synsets.txt").decode().split()
        lemmas = {}
        for line in z.read("timm/data/_info/imagenet_synset_to_lemma.txt").decode().splitlines():
            sid, _, words = line.partition("\t")
            lemmas[sid] = [w.strip() for w in words.split(",")]
    return synsets, lemmas


def hypernyms(f, sid, cache):
    """Direct hypernyms (class and instance) of a noun synset, read at its byte offset."""
    if sid not in cache:
        f.seek(int(sid[1:]))
        fields = f.readline().decode().split(" | ")[0].split()
        if fields[0] != sid[1:]:
            raise SystemExit(f"{sid}: offset does not start a synset line (wrong WordNet version?)")
        words = int(fields[3], 16)
        i = 4 + 2 * words
        count, i = int(fields[i]), i + 1
        parents = []
        for _ in range(count):
            symbol, offset, pos = fields[i : i + 3]
            i += 4
            if symbol in ("@", "@i") and pos == "n":
                parents.append("n" + offset)
        cache[sid] = parents
    return cache[sid]


def ancestors(f, sid, cache):
    seen, stack = {sid}, [sid]
    while stack:
        for p in hypernyms(f, stack.pop(), cache):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def readable(sid, lemmas):
    if sid in NAME_OVERRIDES:
        return NAME_OVERRIDES[sid]
    return lemmas[sid][0].replace("_", " ").lower()


def main():
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(root / "models" / "taxonomy.tsv"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        synsets, lemmas = download_timm(tmp)
    assert len(synsets) == 1000, len(synsets)
    rows, names, cache = [], {}, {}
    with open(WORDNET, "rb") as f:
        for index, sid in enumerate(synsets):
            name = readable(sid, lemmas)
            if name in names:
                raise SystemExit(f"duplicate name {name!r}: {names[name]} and {sid}; add an override")
            names[name] = sid
            up = ancestors(f, sid, cache)
            parents = [c for c, ids in CONCEPTS.items() if covers(ids, up)]
            parents = PARENT_OVERRIDES.get(sid, parents)
            rows.append((index, sid, name, parents))
    for c in CONCEPTS:
        if c in names:
            # A concept with a class's name would make two tags of one name; the class then counts
            # towards the concept (it is its own descendant), so drop the class's own entry name clash.
            raise SystemExit(f"concept {c!r} is also a class name ({names[c]}); rename one of them")
    with open(args.out, "w") as out:
        out.write("# index\tsynset\tname\tparents (generated by tools/make_taxonomy.py; do not edit)\n")
        for index, sid, name, parents in rows:
            out.write(f"{index}\t{sid}\t{name}\t{','.join(parents)}\n")
    counts = {c: sum(c in r[3] for r in rows) for c in CONCEPTS}
    print(f"wrote {args.out}: {len(rows)} classes; classes per concept:")
    print(", ".join(f"{c}={n}" for c, n in counts.items()))
    print("classes without any concept:", sum(not r[3] for r in rows))


if __name__ == "__main__":
    main()
