"""SR from Amazon Review 2018 ratings + metadata: pick the next purchase among 20 candidates A–T.

The paper's construction: ratings of items with metadata, iterative 5-core, chronological, first 50
interactions per user; leave-last-out (train target = 3rd-last item, validation = 2nd-last,
test = last); 19 negatives drawn from all item texts of the run except the user's last three items;
item texts cut to 25 words. IND = equal shares of three categories, OOD = Tools users over a Tools-only
pool. Also reads the RecBole/UniSRec atomic files of one category (``*.text``, ``*.item2index``,
``*.test.inter``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ecinstruct.errors import SourceError
from ecinstruct.raw import amazon2018
from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, quotas, rng_for, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl, read_csv, text_encoding
from ecinstruct.raw.qc import TaskQC, clean_text, keep_if
from ecinstruct.raw.sampling import CountMinSketch
from ecinstruct.tasks import sr
from ecinstruct.text import cut_words, lettered, ordinal

N_CANDIDATES = sr.TASK.extras["n_candidates"]
HELD_OUT_TAIL = 3  # the user's last three items are never negatives
SPLIT_TARGET = {"train": 3, "validation": 2, "test_ind": 1}  # target = n-th item from the end


@dataclass
class Sequences:
    """Every user's item codes, concatenated (int32), and where each user's start: ~4 bytes an item,
    where a list of lists of ids takes tens."""

    items: np.ndarray
    starts: np.ndarray  # one more than there are users; the last is len(items)

    @classmethod
    def of(cls, lists: list[list[int]]) -> Sequences:
        lengths = [len(items) for items in lists]
        return cls(np.fromiter((i for items in lists for i in items), np.int32, count=sum(lengths)),
                   np.r_[0, np.cumsum(lengths, dtype=np.int64)])

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, user: int) -> list[int]:
        return self.items[self.starts[user]:self.starts[user + 1]].tolist()

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)


@dataclass
class Domain:
    """One category (or the union of categories sharing a candidate pool): user sequences + item texts."""

    name: str
    sequences: Sequences  # item codes, chronological
    texts: list[str]  # by item code; cut to the shown length on load


@dataclass(frozen=True)
class SRProcessor(RawProcessor):
    task = sr.TASK
    source = amazon2018.SOURCE
    near_overlap_by_design = ("leave-last-out: a user's train, validation and test histories are prefixes of "
                              "one sequence")

    ind_categories: tuple[str, ...] = amazon2018.IND_CATEGORIES
    ood_category: str | None = amazon2018.OOD_CATEGORY
    core: int = 5
    max_items: int = 50
    max_text_chars: int = 2000
    words: int = 25

    def layouts(self) -> tuple[Layout, ...]:
        cats = (*self.ind_categories, *([self.ood_category] if self.ood_category else []))
        required = tuple(f for c in cats for f in (amazon2018.rating_files(c), amazon2018.meta_files(c)))
        return (
            Layout("amazon2018-ratings+metadata", required, self._load_amazon),
            Layout("recbole-atomic", (("sr_amazon2018_scientific/*.text",), ("sr_amazon2018_scientific/*.item2index",),
                                      ("sr_amazon2018_scientific/*.test.inter",)), self._load_recbole,
                   fidelity="variant",
                   caveat="RecBole/UniSRec files of one category (Industrial_and_Scientific) as IND, no OOD test; "
                          "item texts keep all category levels"),
        )

    # ------------------------------------------------------------------------------------ loading

    def _load_amazon(self, paths: list[Path], qc: TaskQC) -> list[Domain]:
        domains = []
        for ratings_path, meta_path in zip(paths[::2], paths[1::2], strict=True):
            qc.scope = ratings_path.stem
            texts = {m["asin"]: amazon2018.item_text(m) for m in iter_jsonl(meta_path) if m.get("asin")}
            n_items = len(texts)
            # Cut once, on load, so candidates are compared as shown (two long titles may cut alike).
            texts = {k: cut_words(v, self.words) for k, v in texts.items()
                     if len(v) < self.max_text_chars and v.strip(". ")}
            qc.record("item texts", n_items, len(texts), f"non-empty, < {self.max_text_chars} chars")
            asins = sorted(texts)  # item codes in id order, so sorting codes sorts ids
            texts_by_code = [texts[asin] for asin in asins]
            del texts
            domains.append(Domain(ratings_path.stem, self.sequences(ratings_path, asins, qc), texts_by_code))
        qc.scope = ""
        return domains

    def sequences(self, ratings_path: Path, asins: list[str], qc: TaskQC) -> Sequences:
        """Ratings → per-user chronological item sequences (items with text, k-core, first ``max_items``).

        Two streaming passes over the ratings: the first counts ratings per user in a count-min
        sketch (constant memory); the second keeps only the ratings of users who may have ``core``
        ratings, as int32 user and item codes and time (12 bytes a rating), so that the
        exact k-core runs vectorised on a fraction of the file. A user with fewer than ``core``
        ratings can never be in the k-core, so the result is the k-core of all ratings.
        """
        item_index = pd.Index(asins, dtype=object)  # item code = position in the sorted ids
        encoding = text_encoding(ratings_path)
        sketch, n_ratings, n_with_text = CountMinSketch(), 0, 0
        for users, items, _ in _rating_batches(ratings_path, encoding, "count users"):
            n_ratings += len(users)
            with_text = users[item_index.get_indexer(items) >= 0]
            n_with_text += len(with_text)
            sketch.add(with_text)
        # Users that may be in the k-core → code. Keys are fresh UTF-8 copies (same order as the ids):
        # holding the parser's own str objects would pin the memory of every chunk they came from.
        interned: dict[bytes, int] = {}
        parts: tuple[list[np.ndarray], ...] = ([], [], [])  # users, items, times
        for users, items, times in _rating_batches(ratings_path, encoding, "read ratings"):
            codes = item_index.get_indexer(items)
            keep = codes >= 0
            users, codes, times = users[keep], codes[keep], times[keep]
            keep = sketch.estimate(users) >= self.core
            user_codes = np.fromiter((interned.setdefault(u.encode(), len(interned)) for u in users[keep]), np.int32,
                                     count=int(keep.sum()))
            for column, values in zip(parts, (user_codes, codes[keep].astype(np.int32), _narrow(times[keep])),
                                      strict=True):
                column.append(values)
        del sketch, item_index
        ratings = Ratings(*(_concatenate(column) for column in parts))  # each column's parts freed in turn
        qc.record("items with metadata", n_ratings, n_with_text)
        qc.record("users with ≥ k ratings", n_with_text, len(ratings),
                  "count-min prefilter before the exact k-core (never drops a k-core user)")
        ratings = k_core(ratings, self.core, qc, n_in=n_with_text)
        ratings.rank_users(list(interned))
        del interned  # the ids of up to millions of users, not needed by the sort
        return ratings.sequences(self.max_items)

    def _load_recbole(self, paths: list[Path], qc: TaskQC) -> list[Domain]:
        text_path, index_path, inter_path = paths
        texts = {r["item_id:token"]: cut_words(clean_text(r["text:token_seq"]), self.words)
                 for r in read_csv(text_path, delimiter="\t")}
        index = {r[0]: r[1] for r in (line.split("\t") for line in
                                      index_path.read_text(encoding="utf-8").splitlines() if line)}
        by_number = {number.strip(): asin for asin, number in index.items()}
        sequences = []
        for r in read_csv(inter_path, delimiter="\t"):
            numbers = [*r["item_id_list:token_seq"].split(), r["item_id:token"]]
            try:
                sequences.append([by_number[n] for n in numbers])
            except KeyError as err:
                raise SourceError(f"{inter_path}: item number {err} is not in {index_path.name}") from None
        qc.record("user sequences", len(sequences), len(sequences), "test.inter history + target (full sequence)")
        sequences = keep_if(sequences, lambda s: all(i in texts for i in s), qc, "items with text")
        codes = {asin: code for code, asin in enumerate(texts)}
        return [Domain(text_path.stem, Sequences.of([[codes[i] for i in s] for s in sequences]), list(texts.values()))]

    # ---------------------------------------------------------------------------------- examples

    def make_examples(self, records: list[Domain], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        has_ood = self.ood_category is not None and len(records) == len(self.ind_categories) + 1
        ind = records[:-1] if has_ood else records
        pool = sorted({text for d in ind for text in d.texts})
        examples: Examples = {"train": [], "validation": [], "test_ind": []}
        for domain, t, v, s in zip(ind, quotas(sizes.train, len(ind)), quotas(sizes.validation, len(ind)),
                                   quotas(sizes.test, len(ind)), strict=True):
            part = self.domain_examples(domain, pool, {"train": t, "validation": v, "test_ind": s}, seed)
            for split, rows in part.items():
                examples[split] += rows
        if has_ood:
            ood = records[-1]
            ood_pool = sorted(set(ood.texts))
            examples["test_ood"] = self.domain_examples(ood, ood_pool, {"test_ind": sizes.ood}, seed)["test_ind"]
        # Exact repeats only: near-duplicates are the task's design (see near_overlap_by_design).
        examples["train"] = remove_overlap(examples["train"], test_texts(examples), qc, text_of=lambda s: s["input"],
                                          near=False)
        return examples

    def domain_examples(self, domain: Domain, pool: list[str], wanted: dict[str, int], seed: int) -> Examples:
        """Users shuffled; the first users give every wanted split, later ones train examples only."""
        rng = rng_for(seed, self.code, f"users:{domain.name}")
        # Shuffling user numbers permutes them as shuffling the sequences themselves would.
        users = np.flatnonzero(domain.sequences.lengths() > HELD_OUT_TAIL).tolist()
        rng.shuffle(users)
        out: Examples = {split: [] for split in wanted}
        for user in users:
            items = domain.sequences[user]
            for split, n in wanted.items():
                if len(out[split]) < n:
                    out[split].append(self.make_example(items, SPLIT_TARGET[split], domain.texts, pool, rng))
            if all(len(out[s]) >= n for s, n in wanted.items()):
                break
        return out

    def make_example(self, items: list, from_end: int, texts: Mapping | list[str], pool: list[str], rng) -> dict:
        """History = items before the target; 20 candidates = target + 19 negatives, lettered A–T."""
        target_at = len(items) - from_end
        history = [texts[i] for i in items[:target_at]]
        target = texts[items[target_at]]
        excluded = {texts[i] for i in items[-HELD_OUT_TAIL:]} | {target}
        negatives = draw_negatives(pool, excluded, N_CANDIDATES - 1, rng)
        candidates = [target, *negatives]
        rng.shuffle(candidates)
        options = lettered(candidates)
        return {"input": str([f"{ordinal(k)}: {t}" for k, t in enumerate(history, start=1)]),
                "options": options, "output": options[candidates.index(target)].split(":", 1)[0]}


def draw_negatives(pool: list[str], excluded: set[str], n: int, rng) -> list[str]:
    """``n`` distinct texts drawn uniformly without replacement from ``pool`` minus ``excluded``."""
    if len(pool) - len(excluded) < n:
        raise SourceError(f"SR needs at least {n + len(excluded)} distinct item texts in the candidate pool, "
                          f"found {len(pool)}; use a larger category")
    chosen: list[str] = []
    seen = set(excluded)
    while len(chosen) < n:
        text = pool[rng.randrange(len(pool))]
        if text not in seen:
            seen.add(text)
            chosen.append(text)
    return chosen


@dataclass
class Ratings:
    """Ratings as parallel arrays: user code, item code, time (one entry per rating, repeats kept)."""

    users: np.ndarray  # int32
    items: np.ndarray  # int32
    times: np.ndarray  # int32 (int64 when a time does not fit)

    def __len__(self) -> int:
        return len(self.users)

    def keep(self, mask: np.ndarray) -> None:
        """Keep the ratings where ``mask`` is true (in place: the old arrays are freed one by one)."""
        self.users = self.users[mask]
        self.items = self.items[mask]
        self.times = self.times[mask]

    def rank_users(self, user_names: list[str] | list[bytes]) -> None:
        """Renumber the users in the order of their ids (``user_names[code]``), so that the ids are
        no longer needed (the caller can free them before :meth:`sequences` sorts)."""
        present = np.unique(self.users)
        rank = np.zeros(len(user_names), dtype=np.int32)
        rank[sorted(present.tolist(), key=user_names.__getitem__)] = np.arange(len(present), dtype=np.int32)
        self.users = rank[self.users]

    def sequences(self, max_items: int) -> Sequences:
        """Users in code order (see :meth:`rank_users`), each user's ratings by (time, item code), the
        first ``max_items``. Item codes must follow the order of the item ids, so that time ties break
        by id. Empties the ratings as it goes (the arrays are freed as soon as they have been used)."""
        order = np.lexsort((self.items, self.times, self.users))
        user_rank, self.users, self.times = self.users[order], self.users[:0], self.times[:0]
        items, self.items = self.items[order], self.items[:0]
        del order
        starts = np.flatnonzero(np.r_[True, user_rank[1:] != user_rank[:-1]]) if len(items) else np.zeros(0, int)
        del user_rank
        lengths = np.diff(np.r_[starts, len(items)])
        first = np.ones(len(items), dtype=bool)
        for long in np.flatnonzero(lengths > max_items).tolist():  # few users: a loop costs no memory
            first[starts[long] + max_items:starts[long] + lengths[long]] = False
        return Sequences(items[first], np.r_[0, np.cumsum(np.minimum(lengths, max_items))])


def k_core(ratings: Ratings, k: int, qc: TaskQC, n_in: int | None = None) -> Ratings:
    """Iteratively drop users and items with fewer than ``k`` interactions (vectorised counts, in
    place; ``n_in``: the rows before any prefilter, for the QC record)."""
    n_in = len(ratings) if n_in is None else n_in
    while len(ratings):
        users = np.bincount(ratings.users)
        items = np.bincount(ratings.items)
        keep = (users[ratings.users] >= k) & (items[ratings.items] >= k)
        if keep.all():
            break
        ratings.keep(keep)
    qc.record(f"{k}-core", n_in, len(ratings), "users and items with ≥ k interactions")
    return ratings


def _concatenate(parts: list[np.ndarray]) -> np.ndarray:
    """The parts as one array; the list is emptied as it goes, so that the peak is one copy."""
    if not parts:
        return np.zeros(0, np.int32)
    out = np.empty(sum(len(p) for p in parts), dtype=np.result_type(*parts))
    at = 0
    while parts:
        part = parts.pop(0)
        out[at:at + len(part)] = part
        at += len(part)
    return out


def _narrow(times: np.ndarray) -> np.ndarray:
    """int32 times when they fit (Unix seconds do until 2038), else int64 (concatenation upcasts)."""
    info = np.iinfo(np.int32)
    if not len(times) or (info.min <= times.min() and times.max() <= info.max):
        return times.astype(np.int32)
    return times


def _rating_batches(path: Path, encoding: str, desc: str, size: int = 100_000
                    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(users, items, times) arrays of a ratings file (``item,user,rating,timestamp``, no header), streamed
    in chunks by pandas' C parser (ids as ``str`` objects, time as ``int(float(t))``)."""
    try:
        chunks = pd.read_csv(path, header=None, names=["item", "user", "rating", "time"],
                             usecols=["item", "user", "time"], dtype={"item": object, "user": object, "time": float},
                             na_filter=False, encoding=encoding, chunksize=size, compression="infer")
        with tqdm(desc=desc, unit=" rows", mininterval=2, disable=None) as progress:
            for chunk in chunks:
                progress.update(len(chunk))
                yield (chunk["user"].to_numpy(dtype=object), chunk["item"].to_numpy(dtype=object),
                       chunk["time"].to_numpy().astype(np.int64))
    except (ValueError, pd.errors.ParserError) as err:
        raise SourceError(f"{path}: not a ratings file of lines item,user,rating,timestamp ({err})") from None


PROCESSOR = SRProcessor()
