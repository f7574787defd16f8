"""The offline idea generator: no network, no key, varied and theme-specific.

It matches the theme's words against a catalogue of domains, then combines
each matching domain's products with audiences it suits, at random, skipping
titles that already exist. A theme no domain knows still gets ideas, tagged
with the theme's own words. Pure: the randomness is a parameter.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

from project_ideas.ideas import ProjectIdea, tag_slug, title_key


@dataclass(frozen=True)
class Product:
    name: str
    does: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    name: str
    keywords: tuple[str, ...]
    tags: tuple[str, ...]
    products: tuple[Product, ...]
    audiences: tuple[str, ...]


def load_catalogue() -> tuple[list[Domain], Domain]:
    """The domains of ``catalogue.toml``, and the general one apart."""
    text = (resources.files("project_ideas") / "catalogue.toml").read_text(encoding="utf-8")
    domains = [
        Domain(
            name=entry["name"],
            keywords=tuple(entry["keywords"]),
            tags=tuple(entry["tags"]),
            products=tuple(
                Product(n, does, tuple(tags.split())) for n, does, tags in entry["products"]
            ),
            audiences=tuple(entry["audiences"]),
        )
        for entry in tomllib.loads(text)["domain"]
    ]
    general = next(domain for domain in domains if domain.name == "general")
    return [domain for domain in domains if domain is not general], general


DOMAINS, GENERAL = load_catalogue()

# Words that say "give me ideas" rather than what they are about.
FILLER = """
    a an and the for of on in to with by from about into around based using some new
    generate generating build building create project projects idea ideas focused
    innovative app apps product products
"""
STOP_WORDS = frozenset(FILLER.split())
WORD = re.compile(r"[a-z0-9][a-z0-9+#.-]*")
Candidate = tuple[Domain, Product, str]
EDITIONS = ("Lite", "Pro", "Team Edition", "Open Source Edition", "Mobile Edition", "Studio")


def theme_words(theme: str) -> list[str]:
    """The theme's meaningful words, in order, without filler like "generate projects"."""
    words = (word.strip(".-") for word in WORD.findall(theme.casefold()))
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS and len(w) > 1))


def matching_domains(theme: str) -> list[Domain]:
    """Domains whose keywords appear in the theme; ``[GENERAL]`` when none does."""
    text = " " + " ".join(WORD.findall(theme.casefold())) + " "
    found = [d for d in DOMAINS if any(f" {keyword} " in text for keyword in d.keywords)]
    return found or [GENERAL]


def generate_ideas(
    theme: str, count: int, avoid_titles: tuple[str, ...] = (), rng: random.Random | None = None
) -> list[ProjectIdea]:
    """``count`` ideas on ``theme`` whose titles are not in ``avoid_titles``."""
    rng = rng or random.Random()
    domains = matching_domains(theme)
    words = theme_words(theme)
    taken = {title_key(title) for title in avoid_titles}
    ideas: list[ProjectIdea] = []
    for domain, product, audience in _candidates(domains, rng):
        if len(ideas) == count:
            break
        title = _title(domain, product, audience, words)
        for variant in _variants(title):
            if title_key(variant) not in taken:
                taken.add(title_key(variant))
                ideas.append(_idea(variant, domain, product, audience, theme, words))
                break
    return ideas


def _candidates(domains: list[Domain], rng: random.Random) -> Iterator[Candidate]:
    """Every (domain, product, audience) combination, shuffled, domains interleaved;
    then all of them again (their titles taken, variants are used), without end."""
    while True:
        pools = [_varied_order(domain, rng) for domain in domains]
        while any(pools):
            for pool in pools:
                if pool:
                    yield pool.popleft()


def _varied_order(domain: Domain, rng: random.Random) -> deque[Candidate]:
    """A domain's combinations shuffled, each product once before any product twice,
    so that a short list of ideas is varied."""
    combos = [(domain, p, a) for p in domain.products for a in domain.audiences]
    rng.shuffle(combos)
    seen: Counter[str] = Counter()
    ranked = []
    for combo in combos:
        ranked.append((seen[combo[1].name], combo))
        seen[combo[1].name] += 1
    ranked.sort(key=lambda pair: pair[0])  # stable: the shuffle decides within a round
    return deque(combo for _, combo in ranked)


def _variants(title: str) -> Iterator[str]:
    """The title, then editions of it, then numbered versions: one is always free."""
    yield title
    for edition in EDITIONS:
        yield f"{title} ({edition})"
    number = 2
    while True:
        yield f"{title} #{number}"
        number += 1


def _title(domain: Domain, product: Product, audience: str, words: list[str]) -> str:
    name = product.name
    if domain is GENERAL and words:
        subject = " ".join(word.capitalize() for word in words[:2])
        name = f"{subject} {name}"
    return f"{name} for {_capitalise_words(audience)}"


def _capitalise_words(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in text.split())


def _idea(
    title: str, domain: Domain, product: Product, audience: str, theme: str, words: list[str]
) -> ProjectIdea:
    tags = [*domain.tags, *product.tags]
    if domain is GENERAL:
        tags = [tag_slug(word) for word in words[:2]] + tags
    what = product.name.lower()
    article = "An" if what[:1] in "aeiou" else "A"
    description = (
        f"{article} {what} that {product.does} for {audience}. "
        f'Proposed for the theme "{theme.strip()}"; a first version fits in a few weeks '
        f"and grows with feedback from real {audience}."
    )
    return ProjectIdea(title=title, description=description, tags=tags)
