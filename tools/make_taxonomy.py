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
The tagger gives each concept the summed probability of its five most probable member classes
(`CONCEPT_TOP_K` in crates/vision/src/taxonomy.rs), so diffuse mass never makes a parent.
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
    "table": ["n04379243", "n04379964"],  # the furniture sense and the dining sense
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
    # Basic-level concepts a person types when searching (squirrel, rodent, whale, ...).
    "rodent": ["n02329401"],
    "squirrel": ["n02355227"],
    "rabbit": ["n02323902"],  # leporids: rabbits and hares
    "whale": ["n02062744"],
    "marine mammal": ["n02062017"],
    "seal": ["n02076196"],
    "wolf": ["n02114100"],
    "fox": ["n02118333"],
    "wild dog": ["n02115335"],
    "canine": ["n02083346"],
    "carnivore": ["n02075296"],
    "ape": ["n02470325"],
    "elephant": ["n02503517"],
    "marsupial": ["n01874434"],
    "hoofed animal": ["n02370806"],
    "horse": ["n02374451"],
    "pig": ["n02395003"],
    "cattle": ["n02402425", "n02407959", "n02410509"],  # cattle, Old World buffalo, bison
    "sheep": ["n02411705", "n02414578"],
    "goat": ["n02416519"],
    "antelope": ["n02419796"],
    "camel": ["n02437136"],
    "parrot": ["n01816887"],
    "owl": ["n01621127"],
    "duck": ["n01846331"],
    "eagle": ["n01613294"],
    "seabird": ["n02021795"],
    "beetle": ["n02164464"],
    "arachnid": ["n01769347"],
    "arthropod": ["n01767661"],
    "crustacean": ["n01974773"],
    "crab": ["n01976957"],
    "lobster": ["n01982650"],
    "mollusk": ["n01940736"],
    "sea creature": ["n01909422", "n02316707"],  # cnidarians (jellyfish, corals), echinoderms
    "worm": ["n01922303"],
    "mushroom": ["n12997919", "n13001041"],
    "seed": ["n13135832"],
    "bread": ["n07679356"],
    "sauce": ["n07829412"],
    "clock": ["n03046257"],
    "watch": ["n04555897"],
    "timepiece": ["n04437953"],
    "instrument": ["n03574816", "-n04565375"],  # not weapons (WordNet files them under instrument)
    "lamp": ["n03636248"],
    "lighting": ["n04263760"],
    "lock": ["n03682487"],
    "fastener": ["n03323703"],
    "machine": ["n03699975"],
    "wheel": ["n04574999"],
    "heater": ["n03508101"],
    "bin": ["n02839910"],
    "bag": ["n02773037"],
    "box": ["n02883344"],
    "bottle": ["n02876657"],
    "drinking glass": ["n03438257"],
    "tableware": ["n04381994"],
    "dishware": ["n03133538"],
    "cutlery": ["n03153375"],
    "shop": ["n04202417", "n03722288"],
    "fence": ["n03327234"],
    "door": ["n03221720"],
    "gate": ["n03427296"],
    "tower": ["n04460130"],
    "monument": ["n03743902"],
    "dwelling": ["n03259505"],
    "tent": ["n04411264"],
    "arch": ["n02733524"],
    "factory": ["n03316406"],
    "roof": ["n04105068"],
    "mask": ["n03725035"],
    "armor": ["n02739668"],
    "curtain": ["n03151077", "n02851099"],  # curtains and blinds
    "toiletries": ["n04447443"],
    "jewelry": ["n03597469"],
    "fabric": ["n03309808", "n03932670"],  # textiles and pieces of cloth (towels, rags)
    "pen": ["n03906997"],
    "stick": ["n04317420"],
    "cleaning tool": ["n03039947"],
    "game": ["n03413828"],
    "camera": ["n02942699"],
    "sign": ["n06793231", "n06873571"],  # signs and visual signals (traffic lights)
    "mountain": ["n09359803"],
    "shore": ["n09433442"],
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
    # ImageNet's odd or ambiguous first lemmas, renamed to what a person would type.
    "n03492542": "hard disk",
    "n03902125": "pay phone",
    "n02835271": "tandem bicycle",
    "n02747177": "trash can",
    "n03388549": "four-poster bed",
    "n03485407": "handheld computer",
    "n03793489": "computer mouse",
    "n03832673": "notebook computer",
    "n03782006": "computer monitor",
    "n04152593": "computer screen",
    "n03929660": "guitar pick",
    "n12620546": "rose hip",
    "n13133613": "ear of corn",
    "n04243546": "slot machine",
    "n04372370": "light switch",
    "n04523525": "vaulted ceiling",
    "n02892201": "memorial plaque",
    "n02389026": "sorrel horse",
    "n01871265": "tusker elephant",
    "n04389033": "army tank",
    "n03825788": "baby bottle nipple",
    "n06359193": "website",
    "n07579787": "plated meal",
    "n01514668": "rooster",
    "n01608432": "kite (bird)",
    "n03786901": "mortar bowl",
    "n04296562": "stage (theatre)",
    "n03627232": "knot (rope)",
}

# Classes ImageNet splits where a person sees one thing: they share one name, and the tag's
# score is their summed probability (`tiger cat` is ImageNet's striped tabby).
ALIASES = {
    "n02123159": "tabby cat",
}


# Classes whose WordNet sense differs from what the photos show.
PARENT_OVERRIDES = {
    "n07930864": ["container"],  # "cup" is the punch drink in WordNet; ImageNet's photos are cups
}


# Concepts too general to be a class's only parent: every class also gets one below them.
TOP_LEVEL = {"animal", "device", "structure", "plant", "food"}

# WordNet hypernyms never used as an automatic parent: abstract or technical words nobody
# searches a photo library for.
NOT_READABLE = {
    "artifact", "whole", "object", "physical entity", "entity", "instrumentality", "covering",
    "protective covering", "implement", "equipment", "device", "structure", "container",
    "mechanism", "mechanical device", "part", "piece", "article", "ware", "restraint", "support",
    "system", "attachment", "connection", "padding", "surface", "horizontal surface", "gear",
    "apparatus", "receptacle", "vessel", "establishment", "place of business", "obstruction",
    "area", "matter", "substance", "solid", "material", "communication", "abstraction", "shape",
    "attribute", "round shape", "medium", "conveyance", "natural object", "plant part",
    "plant organ", "reproductive structure", "fruit", "top", "sphere", "globule", "ball",
    "organism", "living thing", "foodstuff", "ingredient", "flavorer", "concoction", "course",
    "nutriment", "fare", "entree", "kit", "rig", "ride", "runner", "press", "print media",
    "magazine", "shelter", "framework", "supporting structure", "structural member", "upright",
    "transducer", "electro-acoustic transducer", "electrical device", "electronic device",
    "optical device", "optical instrument", "scientific instrument", "converging lens", "bar",
    "lever", "key", "control", "reflector", "acoustic device", "airfoil", "breathing device",
    "measure", "hand glass", "light microscope", "magnifier", "tissue", "paper", "cream",
    "makeup", "cosmetic", "powder", "piece of cloth", "stretcher", "litter", "duplicator",
    "sharpener", "oar", "post", "rack", "platform", "landing", "column", "brace", "trap",
    "web", "filter", "blower", "fan", "pump", "sandglass", "timer", "meter", "compass",
    "navigational instrument", "medical instrument", "instrument of execution",
    "lifting device", "farm machine", "calculator", "magnetic disk", "memory device",
    "sheath", "shade", "cap", "shield", "plate", "armor plate", "body armor", "helmet",
    "rescue equipment", "photographic equipment", "puzzle", "game equipment", "cushion",
    "floor cover", "mat", "dressing", "bandage", "adhesive bandage", "cloth covering",
    "wrapping", "jacket", "hydraulic brake", "brake system", "brake", "savings bank",
    "dispenser", "package", "case", "shaker", "basket", "basin", "jar", "jug", "reservoir",
    "tank", "can", "drinking vessel", "mug", "dish", "crockery", "bowl", "spoon",
    "bedclothes", "sports implement", "communication system", "correctional institution", "ligament", "relation", "strengthener",
    "winder", "drill rig", "signaling device", "publication", "disk", "board", "display",
}

# Readable parents WordNet does not give (or gives only under an unreadable word), by class
# name; they add to the curated ones and become concepts like them.
EXTRA_PARENTS = {
    "altar": ["religion"], "band aid": ["first aid"], "bell cote": ["roof"],
    "binder": ["office supplies"], "birdhouse": ["garden"], "bottlecap": ["bottle"],
    "breastplate": ["armor"], "carousel": ["amusement ride"], "carpenter's kit": ["tool"],
    "cloak": ["clothing"], "coil": ["spiral"], "crane (machine)": ["machine"],
    "disk brake": ["car part"], "dock": ["harbor"], "doormat": ["rug"],
    "electric fan": ["home appliance"], "fountain": ["water feature"], "gas pump": ["gas station"],
    "hard disk": ["computer hardware"], "holster": ["weapon"], "honeycomb": ["bee"],
    "hook": ["hardware"], "lampshade": ["lamp"], "lens cap": ["camera"], "lighter": ["fire"],
    "loudspeaker": ["audio equipment"], "manhole cover": ["street"], "maypole": ["festival"],
    "maze": ["puzzle"], "microphone": ["audio equipment"], "computer mouse": ["computer hardware"],
    "mousetrap": ["trap"], "muzzle": ["dog accessory"], "baby bottle nipple": ["baby product"],
    "obelisk": ["monument"], "oil filter": ["car part"], "oxygen mask": ["medical equipment"],
    "paddle": ["boat"], "parachute": ["skydiving"], "patio": ["garden"], "pedestal": ["column"],
    "pencil sharpener": ["office supplies"], "photocopier": ["office equipment"],
    "guitar pick": ["guitar"], "pickelhaube": ["hat"], "pier": ["harbor"], "pillow": ["bedding"],
    "plate rack": ["kitchen"], "radiator": ["heater"], "remote control": ["electronics"],
    "scabbard": ["weapon"], "shoji": ["door"], "ski": ["sports equipment"], "snorkel": ["diving"],
    "solar dish": ["antenna"], "space bar": ["computer hardware"], "spider web": ["spider"],
    "stage (theatre)": ["theatre"], "strainer": ["kitchen utensil"],
    "stretcher": ["medical equipment"], "light switch": ["electrical"], "tripod": ["camera"],
    "wing": ["aircraft"], "book jacket": ["book"], "menu": ["dining"], "plated meal": ["dish"],
    "dough": ["baking"], "bubble": ["soap"], "acorn": ["nut"], "rose hip": ["berry"],
    "ear of corn": ["vegetable"], "chain": ["hardware"], "prison": ["building"],
    "drilling platform": ["oil rig"], "website": ["computer"], "comic book": ["book"],
    "crossword puzzle": ["puzzle"], "jigsaw puzzle": ["puzzle"],
    "neck brace": ["medical equipment"], "radio": ["electronics", "audio equipment"],
    "reel": ["fishing"], "computer screen": ["computer hardware", "electronics"],
    "whistle": ["sports equipment"], "toilet tissue": ["paper"], "quilt": ["bedding"],
    "racket": ["sports equipment"],
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
    if sid in ALIASES:
        return ALIASES[sid]
    if sid in NAME_OVERRIDES:
        return NAME_OVERRIDES[sid]
    return lemmas[sid][0].replace("_", " ").lower()


def lemma(f, sid):
    f.seek(int(sid[1:]))
    return f.readline().decode().split()[4].replace("_", " ").lower()


def add_auto_concepts(f, synsets, ups, names, concepts, cache):
    """For each class whose curated parents are all top-level, its nearest WordNet hypernym with a
    readable name becomes a concept (covering every class below it). Returns the added names."""
    added = set()
    name_of = {v: k for k, v in names.items()}
    for sid in synsets:
        curated = {c for c, ids in concepts.items() if covers(ids, ups[sid])}
        if curated - TOP_LEVEL or sid in PARENT_OVERRIDES or name_of.get(sid) in EXTRA_PARENTS:
            continue
        frontier = hypernyms(f, sid, cache)
        while frontier:
            word = lemma(f, frontier[0])
            if word not in NOT_READABLE and word not in names and word.count(" ") <= 1:
                if word not in concepts:
                    concepts[word] = [frontier[0]]
                    added.add(word)
                break
            frontier = hypernyms(f, frontier[0], cache) + frontier[1:]
    return added


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
        ups = {}
        for sid in synsets:
            name = readable(sid, lemmas)
            if name in names and sid not in ALIASES:
                raise SystemExit(f"duplicate name {name!r}: {names[name]} and {sid}; add an override")
            names[name] = sid
            ups[sid] = ancestors(f, sid, cache)
        concepts = dict(CONCEPTS)
        auto = add_auto_concepts(f, synsets, ups, names, concepts, cache)
        for index, sid in enumerate(synsets):
            parents = [c for c, ids in concepts.items() if covers(ids, ups[sid])]
            parents = PARENT_OVERRIDES.get(sid, parents)
            name = readable(sid, lemmas)
            parents += [p for p in EXTRA_PARENTS.get(name, []) if p not in parents]
            rows.append((index, sid, name, parents))
    print("automatic parents (nearest readable WordNet hypernym):", ", ".join(sorted(auto)))
    bare = [r[2] for r in rows if not set(r[3]) - TOP_LEVEL]
    if bare:
        raise SystemExit(f"classes without a parent below the top level: {bare}")
    # A concept named like a class (`mask`, `mushroom`) takes the class in: one tag, scored
    # over the class and the concept's other members.
    extra = {p for ps in EXTRA_PARENTS.values() for p in ps}
    for c in set(concepts) | extra:
        if c in names:
            row = next(r for r in rows if r[1] == names[c])
            if c not in row[3]:
                row[3].append(c)
    with open(args.out, "w") as out:
        out.write("# index\tsynset\tname\tparents (generated by tools/make_taxonomy.py; do not edit)\n")
        for index, sid, name, parents in rows:
            out.write(f"{index}\t{sid}\t{name}\t{','.join(parents)}\n")
    counts = {c: sum(c in r[3] for r in rows) for c in concepts}
    print(f"wrote {args.out}: {len(rows)} classes; classes per concept:")
    print(", ".join(f"{c}={n}" for c, n in counts.items()))
    print("classes without any concept:", sum(not r[3] for r in rows))


if __name__ == "__main__":
    main()
