"""Small synthetic corpora shaped like the real one, for fast tests (the real corpus is read
from ../shared and never committed)."""

import json
import random
from pathlib import Path

SITES = ("4ch", "8ch", "8kun")
WORDS = [
    "the",
    "storm",
    "is",
    "coming",
    "trust",
    "the",
    "plan",
    "patriots",
    "watch",
    "news",
    "unfold",
    "soon",
    "where",
    "we",
    "go",
    "one",
    "we",
    "go",
    "all",
    "future",
    "proves",
    "past",
    "they",
    "never",
    "thought",
    "she",
    "would",
    "lose",
    "expand",
    "your",
    "thinking",
    "q",
    "clearance",
    "anons",
    "bread",
    "dig",
    "memes",
    "war",
    "white",
    "hat",
    "black",
    "hat",
    "military",
    "intelligence",
]
START = 1509223468  # 2017-10-28, the real corpus' first post
SPAN = 1669597580 - START


def make_post(number: int, rng: random.Random, site: str, text: str | None) -> dict:
    post = {
        "post_metadata": {
            "author": "Anonymous",
            "author_id": f"id{number % 7}",
            "post_id": str(1000 + number),
            "id": number,
            "time": START + int(SPAN * number / 400) + rng.randrange(60),
            "source": {"board": "/pol", "site": site, "link": f"https://example.org/{number}"},
        },
        "referenced_posts": [],
    }
    if text is not None:
        post["text"] = text
    return post


def make_posts(count: int = 300, seed: int = 0) -> list[dict]:
    """`count` posts; every tenth has no text and every seventh is short (<= 50 chars)."""
    rng = random.Random(seed)
    posts = []
    for number in range(1, count + 1):
        site = SITES[min(2, number * 3 // count)]  # sites follow each other, as in the real one
        if number % 10 == 0:
            text = None
        elif number % 7 == 0:
            text = "short\nPOST"
        else:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(20, 80)))
            text = words.capitalize() + "\nMore " + words[::-1]
        posts.append(make_post(number, rng, site, text))
    return posts


def write_corpus(path: Path, posts: list[dict] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"posts": make_posts() if posts is None else posts}))
    return path


def expected_kept(posts: list[dict], min_size: int = 50) -> int:
    """How many posts preprocess keeps, computed independently of the notebook's code."""
    import re

    kept = 0
    for post in posts:
        text = post.get("text")
        if not isinstance(text, str):
            continue
        text = re.sub(r"^https?:\/\/.*[\r\n]*", "", text.replace("\n", " ")).lower()
        kept += len(text) > min_size
    return kept


def split_corpus(corpus: Path, folder: Path, parts: int) -> list[str]:
    """The corpus's posts, in order, in `parts` files `part<i>.json` of a new folder that any
    user (a container's too) can read; returns the file names."""
    posts = json.loads(corpus.read_text(encoding="utf-8"))["posts"]
    size = -(-len(posts) // parts)
    folder.mkdir(mode=0o755, parents=True)
    folder.chmod(0o755)  # whatever the umask
    names = [f"part{index}.json" for index in range(parts)]
    for index, name in enumerate(names):
        write_corpus(folder / name, posts[index * size:(index + 1) * size])
        (folder / name).chmod(0o644)
    return names
