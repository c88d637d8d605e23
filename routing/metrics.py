"""Customizable contraction hierarchies (RoutingKit's CCH, our binding ``hazmat.routing._cch``): the fast searches.

One topology per graph, built once (nested dissection: about a minute for a million nodes)
and saved on disk next to the road graph, keyed by the arcs and coordinates, so a worker
start loads it in a fraction of a second. A *metric* is the topology customised with arc
weights (travel time in ms or length in mm; a closed arc gets ``INF_WEIGHT``).

Metrics are grouped by *load class*: the set of arcs the map closes to a load (its tunnel
code, hazard classes and UN numbers against the map's tags), so two loads that close the
same roads share everything. A class's *base* weights are the plain weights with its
closed arcs infinite. Each class keeps a small pool of metrics, each customised to one
*state* (the zones closed at departure and what passes open of them). A state not in the
pool takes the metric of the pool or the spares with the fewest arcs to change (the one in
use aside), and re-customises only the arcs whose weight differs between the two states
(``Metric.update_weights``): a zone changing state or a pass coming into use costs the
partial customisation of its few hundred arcs, once, never a full customisation. Only a
class's first metric is customised in full, on its first request (lazily) or at worker start
(:meth:`Metrics.warm`, with the library's threads); a pool grows by copying its nearest
metric and moving the copy (:meth:`Metrics._fresh`).

On a province's graph nothing waits for a move: a request whose state no metric holds is
answered at once by an exact A* on the state's weights (:class:`Searching`, ``Metric.search``)
while its metric is moved in the background, and the metric in use of each class is perfected
in the background (:meth:`Metrics.perfect`, ``Metric.perfect``: its searches relax only the arcs
a shortest path can take, a third of the time at a million nodes).

A second, reversed topology customised once with weights rounded down gives the
time-dependent search its A* potentials (a lower bound, so admissible and consistent).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hazmat.paths import cache_root

from . import _cch
from .network import RoadNetwork

log = logging.getLogger("hazmat.routing.metrics")

#: customised metrics kept per router, over every load class (one per closed-arc state in use)
METRIC_CACHE = 64
#: metrics kept per load class: the states (zones closed, passes) served without any customisation
VARIANTS = 4
#: threads for one full customisation on a large graph (RoutingKit's OpenMP customisation): 1, as the
#: library's two threads took longer than one on the shared 2-core machine measured (14 s against 6 s at
#: a million nodes); set it higher where cores are idle
THREADS = 1
#: graphs of more arcs than this grow their pools in a background thread (a full customisation takes seconds)
BACKGROUND_ARCS = 200_000
#: a pool grows only once its class has seen no new state for this long (seconds): a growth on the other core slowed
#: the partial customisations of a burst of new states (zones switching on the hour) by 20–100 % (measured when a
#: growth was a full customisation; a copy and its move share the memory bandwidth the same way, if for less long)
GROW_QUIET_S = 2.0
#: a full customisation is cheaper than a partial one of more arcs than this share of the graph (measured:
#: a changed arc costs a partial customisation about 200–300 times what an arc costs a full one, on the
#: Harbin centre and on a million nodes alike; so on a city's graph a zone is customised in full, in ms)
PARTIAL_SHARE = 0.003
#: a state prepared ahead of need stays reserved (a request's move takes another metric first) this long after
#: the moment it was prepared for (seconds), or until a request uses it: requests departing just after a window
#: boundary use it
RESERVE_S = 300.0
#: a class used within this many seconds has its metric in use perfected in the background (:meth:`Metrics.perfect`)
PERFECT_RECENT_S = 600.0
INF = _cch.INF_WEIGHT
#: bump when the topology files change meaning (a cached topology of another version is rebuilt)
TOPOLOGY_VERSION = 1
#: the topology files' format, in the cache's key: RoutingKit's vectors as pyroutingkit 0.2 saved them, which our
#: binding reads and writes alike (the same nested dissection): topologies cached before the binding still load
_FORMAT = "pyroutingkit"

#: a load class: the arcs the map closes to the load
ClassKey = frozenset[int]


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256(f"cch-v{TOPOLOGY_VERSION}-{_FORMAT}".encode())
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def topology_cache(graph: Any) -> Path | None:
    """Where a graph's topologies are saved: beside the cached road graphs, for a graph built from a source
    (one with a provenance); a graph made in memory (tests) is not cached. ``graph``: the networkx graph
    or its attributes (``graph.graph``, what the road network's arrays keep)."""
    attrs = graph if isinstance(graph, dict) else graph.graph
    return cache_root() / "cch" if attrs.get("provenance") else None


def _arrays(
    tail: Sequence[int], head: Sequence[int], xs: Sequence[float], ys: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arrays RoutingKit reads (and the cache's key): tail, head, latitude, longitude."""
    return (
        np.asarray(tail, dtype=np.uint32),
        np.asarray(head, dtype=np.uint32),
        np.asarray(ys, dtype=np.float32),
        np.asarray(xs, dtype=np.float32),
    )


def folder(tail: Sequence[int], head: Sequence[int], xs: Sequence[float], ys: Sequence[float], cache: Path) -> Path:
    """Where the topology of these arcs and coordinates is saved under ``cache``."""
    return cache / _digest(*_arrays(tail, head, xs, ys))


def prepare(graph: Any, cache: Path | None = None) -> list[Path]:
    """Build and save a road graph's two topologies (``hazmat graph build``), so a worker start only loads them.

    The arcs in the order :class:`RoadNetwork` gives them (the graph's edges), nodes in the graph's order.
    """
    cache = cache or cache_root() / "cch"
    index = {n: i for i, n in enumerate(graph.nodes)}
    xs = [d["x"] for _, d in graph.nodes(data=True)]
    ys = [d["y"] for _, d in graph.nodes(data=True)]
    tail = [index[u] for u, _ in graph.edges()]
    head = [index[v] for _, v in graph.edges()]
    topology(tail, head, xs, ys, cache)
    topology(head, tail, xs, ys, cache)
    return [folder(tail, head, xs, ys, cache), folder(head, tail, xs, ys, cache)]


def topology(
    tail: Sequence[int], head: Sequence[int], xs: Sequence[float], ys: Sequence[float], cache: Path | None = None
) -> Any:
    """A contraction-hierarchy topology of the arcs tail[i] → head[i] (nested dissection on the coordinates).

    With ``cache``, the topology is loaded from ``cache/<digest of the arcs and coordinates>``
    when it was saved there, else built and saved (atomically: a half-written one is never read).
    """
    arrays = _arrays(tail, head, xs, ys)
    built = _cch.Topology()
    saved = None if cache is None else cache / _digest(*arrays)
    if saved is not None and (saved / "order").is_file():
        try:
            built.load(str(saved))
            if built.node_count == len(xs) and built.arc_count == len(arrays[0]):
                return built
        except RuntimeError as exc:
            log.warning("topology cache unreadable; rebuilding", extra={"cache": str(saved), "error": str(exc)})
        built = _cch.Topology()
    started = time.monotonic()
    built.build(*arrays, len(xs))
    log.info(
        "topology built", extra={"nodes": len(xs), "arcs": len(arrays[0]), "s": round(time.monotonic() - started, 1)}
    )
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=saved.parent, prefix=".tmp-"))
        try:
            built.save(str(tmp))
            tmp.replace(saved)
        except OSError as exc:  # another worker saved it first, or the disk is full: the built one serves
            log.warning("topology not cached", extra={"cache": str(saved), "error": str(exc)})
            shutil.rmtree(tmp, ignore_errors=True)
    return built


def _distance(a: np.ndarray, b: np.ndarray) -> int:
    """How many arcs differ between two sorted sets of closed arcs (what a partial customisation re-weights)."""
    return len(np.setxor1d(a, b, assume_unique=True))


@dataclass(eq=False)  # one object per metric: compared by identity
class _Slot:
    """One customised metric of a class: the state it is customised to and its arcs closed beyond the base."""

    metric: Any
    state: Hashable | None  # None: a spare, still equal to the base
    closed: np.ndarray  # sorted arc ids infinite on top of the base
    #: requests querying it (:class:`Lease`, :class:`Provisional`): never moved meanwhile
    readers: int = 0
    #: prepared ahead of need: kept, before any other, until this moment (``time.time()`` seconds)
    reserved_until: float = 0.0


@dataclass
class _Class:
    """A load class's base weights and its pool of metrics, least recently used first."""

    base: np.ndarray
    pool: OrderedDict[Hashable, _Slot] = field(default_factory=OrderedDict)
    spares: list[_Slot] = field(default_factory=list)
    #: when a request last found its state held (``time.monotonic()``): a class in use is perfected
    used: float = 0.0

    def size(self) -> int:
        return len(self.pool) + len(self.spares)


class Lease:
    """A held metric a request is querying: no background move (ahead of need, a deferred move) takes it until
    :meth:`release` (its slot's ``readers`` counts it, raised under the pool's lock by whoever made the lease)."""

    def __init__(self, metrics: Metrics, slot: _Slot) -> None:
        self.metric = slot.metric
        self._metrics, self._slot = metrics, slot
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            with self._metrics._lock:
                self._slot.readers -= 1


class Provisional(Lease):
    """A state's metric not there yet, and a held metric that closes a subset of its arcs: query that one now.

    Closing arcs never shortens a path, so a path of ``metric`` that drives none of ``newly`` (the
    arcs the wanted state closes beyond it) is optimal in the wanted state too, and a pair it
    cannot join stays unjoined there; any other answer must come from :meth:`wait` (the wanted
    state's metric, moved meanwhile in the background). :meth:`release` when done with ``metric``.
    When that metric is the only one the class could move (a pool of one, as after a start), the
    move waits for the release and moves it (``move``, in a background thread).
    """

    def __init__(
        self,
        metrics: Metrics,
        slot: _Slot,
        newly: np.ndarray,
        ready: Callable[[bool], Any],
        move: Callable[[], Any] | None = None,
        *,
        done: threading.Event | None = None,
        weights: Callable[[], np.ndarray] | None = None,
        generation: int = 0,
    ) -> None:
        super().__init__(metrics, slot)
        self.newly = newly
        self._ready, self._move = ready, move
        self._done, self._weights, self._generation = done, weights, generation

    def exact(self, arcs: Sequence[int]) -> bool:
        """Is ``metric``'s path over these arcs the wanted state's answer (it drives none of ``newly``)? Counted in
        :attr:`Metrics.ahead` (``provisional``) when it is."""
        if len(arcs) and np.isin(np.asarray(arcs, dtype=np.int64), self.newly).any():
            return False
        self._metrics.ahead["provisional"] += 1
        return True

    def wait(self, *, lease: bool = False) -> Any:
        """The wanted state's own metric once moved (a :class:`Lease` of it with ``lease``; counted in
        :attr:`Metrics.ahead` as ``waited``), or, with ``lease`` while the move still runs, a :class:`Searching`
        on the metric read (a lower bound of the state: it closes a subset), which answers now; this one released."""
        if (
            lease
            and self._weights is not None
            and self._done is not None
            and not self._done.is_set()
            and self._generation == self._metrics._generation  # the zones are still those of its arcs
        ):
            with self._metrics._lock:
                self._slot.readers += 1  # the search's lease, before this one's release lets a deferred move take it
            try:
                searching = Searching(self._metrics, self._slot, self._weights())
            except BaseException:
                Lease(self._metrics, self._slot).release()
                raise
            self.release()
            return searching
        self.release()
        self._metrics.ahead["waited"] += 1
        return self._ready(lease)

    def release(self) -> None:
        if not self._released:
            super().release()
            if self._move is not None:
                threading.Thread(target=self._move, name="cch-move").start()


class Searching(Lease):
    """A state no held metric is in yet, its move under way: answered exactly now by an A* on the state's weights
    (``Metric.search``), its potentials from the leased metric, a lower bound of the state arc by arc (it closes a
    subset of the state's arcs, or it is the unrestricted metric: closing arcs only raises weights to infinity).

    Costs milliseconds to tens of milliseconds at a million nodes where the move costs up to a second
    (a partial customisation) or several (a full one); the next requests find the state's metric moved."""

    def __init__(self, metrics: Metrics, slot: _Slot, weights: np.ndarray) -> None:
        super().__init__(metrics, slot)
        self.metric = _Search(slot.metric, weights)
        metrics.ahead["searched"] += 1


class _Search:
    """What :meth:`Router._cheapest` queries (``query_many``), answered by the lower metric's A* on ``weights``."""

    def __init__(self, lower: Any, weights: np.ndarray) -> None:
        self._lower, self._weights = lower, weights

    def query_many(
        self, sources: Any, source_costs: Any, targets: Any, target_costs: Any, scale: float = 1000.0
    ) -> Any:
        return self._lower.search(self._weights, sources, source_costs, targets, target_costs, scale)


class Metrics:
    def __init__(
        self,
        net: RoadNetwork,
        cache_size: int = METRIC_CACHE,
        *,
        variants: int = VARIANTS,
        threads: int = THREADS,
        cache: Path | None = None,
    ) -> None:
        self.net = net
        self.cache_size = cache_size
        self.variants = variants
        self.threads = threads
        #: above this share of the arcs changed, a state change customises in full (0: always in full)
        self.partial_share = PARTIAL_SHARE
        started = time.perf_counter()
        self._cch = topology(net.tail, net.head, net.xs, net.ys, cache)
        self._weights = {
            "time": np.maximum(1, np.round(net.time_array * 1000)).astype(np.uint32),  # ms
            "distance": np.maximum(1, np.round(net.length_array * 1000)).astype(np.uint32),  # mm
        }
        self._reverse = topology(net.head, net.tail, net.xs, net.ys, cache)
        #: seconds the two topologies took to load (or build): what the benchmark reports of a worker start
        self.loaded_s = time.perf_counter() - started
        self._to_target: dict[str, Any] = {}
        self._classes: OrderedDict[tuple[str, ClassKey], _Class] = OrderedDict()
        #: customisations done (``full``, ``partial``), arcs re-weighted partially, metrics copied: what the benchmark reports
        self.counts = {"full": 0, "partial": 0, "arcs": 0, "copies": 0, "perfect": 0}
        #: states moved ahead of need, requests answered provisionally (exactly, without waiting) and those that
        #: waited for a move after all (their path drove a newly closed arc)
        self.ahead = {"prepared": 0, "provisional": 0, "waited": 0, "searched": 0}
        #: grow the pools in a background thread: a new state never waits for a full customisation
        #: (RoutingKit releases the GIL while it customises; the pools change under ``_lock`` only)
        self.background = len(net.tail) > BACKGROUND_ARCS
        self._lock = threading.Lock()
        self._growing: set[tuple[str, ClassKey]] = set()
        #: seconds without a new state before a pool grows (:data:`GROW_QUIET_S`)
        self.grow_quiet_s = GROW_QUIET_S
        #: per class, when it last took a new state and that state's arcs closed beyond the base (what a growth customises)
        self._latest: dict[tuple[str, ClassKey], tuple[float, np.ndarray]] = {}
        self._warming: list[threading.Thread] = []
        #: classes warming in the background: set when their first metric is there
        self._pending: dict[tuple[str, ClassKey], threading.Event] = {}
        #: states being moved into (by a request, in the background or ahead of need): set when held, and
        #: the arcs they close beyond the base
        self._moving: dict[tuple[str, ClassKey, Hashable], tuple[threading.Event, np.ndarray]] = {}
        #: bumped when the zones change (:meth:`forget_states`): a move begun before puts its metric among the spares
        self._generation = 0
        #: a state not held, which closes more than a held metric does, is answered from that one when its path
        #: drives none of the arcs closed beyond it (:class:`Provisional`), while the move runs in the background
        self.provisional = self.background
        #: a state not held whose request would wait for a move is answered now by an A* on its weights
        #: (:class:`Searching`) while the move runs in the background: on a province's graph
        self.searching = self.background
        #: states to prepare ahead of need (:meth:`prepare`), oldest first, and the thread preparing them
        self._ahead: OrderedDict[tuple[str, ClassKey, Hashable], tuple[Callable[[], frozenset[int]], float]] = (
            OrderedDict()
        )
        self._ahead_thread: threading.Thread | None = None
        #: perfect the metrics in use in the background (:meth:`perfect`): a province's graph
        self.perfecting = self.background
        #: classes whose metric in use the ahead thread perfects once no state is queued, oldest first
        self._to_perfect: OrderedDict[tuple[str, ClassKey], None] = OrderedDict()

    def clear(self) -> None:
        """Forget every metric (the map's restrictions changed: the classes' base weights are stale)."""
        with self._lock:
            self._generation += 1
            self._ahead.clear()
            self._to_perfect.clear()
            self._classes.clear()

    def forget_states(self) -> None:
        """The zones changed (their indices mean other zones now): every held metric becomes a spare of its class,
        re-customised partially from what it closes when a state takes it."""
        with self._lock:
            self._generation += 1
            self._ahead.clear()
            self._to_perfect.clear()
            for klass in self._classes.values():
                for slot in klass.pool.values():
                    slot.state, slot.reserved_until = None, 0.0
                klass.spares += klass.pool.values()
                klass.pool.clear()

    @property
    def _metrics(self) -> dict[tuple[Hashable, ...], Any]:
        """The metrics held for a state, by (kind, class, state): what the tests and the benchmark count."""
        return {
            (kind, closed, state): slot.metric
            for (kind, closed), klass in self._classes.items()
            for state, slot in klass.pool.items()
        }

    def __len__(self) -> int:
        """Customised metrics held (every class's pool and spares)."""
        return sum(c.size() for c in self._classes.values())

    def _customised(self, weights: np.ndarray, threads: int | None = None) -> Any:
        metric = _cch.Metric(self._cch)
        metric.customize(weights, self._threads(len(weights)) if threads is None else threads)
        self.counts["full"] += 1
        return metric

    def _threads(self, arcs: int) -> int:
        """The library's threads for a full customisation: none (the calling thread) on a small graph."""
        return self.threads if arcs > BACKGROUND_ARCS else 0

    def _class(self, kind: str, closed: ClassKey) -> _Class:
        key = (kind, closed)
        found = self._classes.get(key)
        if found is None:
            base = self._weights[kind].copy()
            if closed:
                base[np.fromiter(closed, dtype=np.int64, count=len(closed))] = INF
            found = self._classes[key] = _Class(base)
        else:
            self._classes.move_to_end(key)
        return found

    def warm(
        self, classes: Sequence[tuple[str, ClassKey]], *, potentials: Sequence[str] = (), wait: bool = True
    ) -> None:
        """Customise one metric of each ``(kind, class)`` in full now (worker start), then the potentials of
        ``potentials`` kinds: the classes' first states cost partial customisations only.

        One after the other on one thread: two customisations at once on two cores took longer
        than one after the other on the shared 2-core machine measured (memory-bound). ``wait=False``:
        in the background (the library releases the GIL while it customises; a worker answers
        meanwhile, and a request that needs a metric not ready yet customises its own).
        """
        jobs: list[Callable[[], None]] = []
        for kind, closed in classes:
            with self._lock:
                klass = self._class(kind, closed)
            if klass.size() == 0:
                if wait:
                    jobs.append(lambda klass=klass: self._add_spare(klass))
                else:  # a request of this class meanwhile waits for it rather than customise a second one
                    done = self._pending[(kind, closed)] = threading.Event()
                    jobs.append(lambda klass=klass, done=done: self._add_spare(klass, done))
        jobs += [lambda kind=kind: self.potential_metric(kind) for kind in potentials]

        def run() -> None:
            for job in jobs:
                job()

        if wait:
            run()
        else:
            worker = threading.Thread(target=run, name="cch-warm")
            self._warming.append(worker)
            worker.start()

    def _add_spare(self, klass: _Class, done: threading.Event | None = None) -> None:
        try:
            slot = _Slot(self._customised(klass.base), None, np.empty(0, dtype=np.int64))
            with self._lock:
                klass.spares.append(slot)
        finally:
            if done is not None:
                done.set()

    def get(
        self,
        kind: str,
        closed: ClassKey,
        state: Hashable,
        closing: Callable[[], frozenset[int]] = frozenset,
    ) -> Any:
        """The metric of load class ``closed`` (the arcs the map closes) in ``state``.

        ``closing`` gives the arcs the state closes on top of the class (the zones closed at
        departure, less what passes open), asked only when the state is not in the pool. A class
        being warmed in the background (:meth:`warm` with ``wait=False``) is waited for, and so is
        a state being moved into (ahead of need, or by another request).
        """
        found = self.lookup(kind, closed, state, closing, provisional=False)
        assert not isinstance(found, Provisional)
        return found

    def lookup(
        self,
        kind: str,
        closed: ClassKey,
        state: Hashable,
        closing: Callable[[], frozenset[int]] = frozenset,
        *,
        provisional: bool = True,
    ) -> Any:
        """As :meth:`get`, or, when the state is not held yet and a held metric closes a subset of its arcs
        (a zone came into force), a :class:`Provisional` on that metric while the state's own is moved in
        the background (with ``provisional`` and :attr:`provisional` set: on a province's graph).

        The metric returned is not leased: a caller beside background moves (a worker) uses :meth:`lease`."""
        return self._lookup(kind, closed, state, closing, provisional=provisional, lease=False)

    def lease(
        self, kind: str, closed: ClassKey, state: Hashable, closing: Callable[[], frozenset[int]] = frozenset
    ) -> Lease:
        """As :meth:`lookup`, the metric leased (a :class:`Lease`, a :class:`Provisional`, or with :attr:`searching` a
        :class:`Searching` when the request would otherwise wait for a move): no move ahead of need or deferred
        takes it until the request releases it (``finally``: a lease never released keeps the metric from moving)."""
        return self._lookup(kind, closed, state, closing, provisional=True, lease=True)

    def _lookup(
        self,
        kind: str,
        closed: ClassKey,
        state: Hashable,
        closing: Callable[[], frozenset[int]],
        *,
        provisional: bool,
        lease: bool,
    ) -> Any:
        pending = self._pending.get((kind, closed)) if self._pending else None
        if pending is not None:
            if lease and self.searching and not pending.is_set():  # a worker's first seconds: searched, not waited for
                with self._lock:
                    klass = self._class(kind, closed)
                    lower = self._unrestricted(kind)
                    if lower is not None:
                        lower.readers += 1
                if lower is not None:
                    try:
                        weights = self._state_weights(klass, self._extra(klass, closing))
                    except BaseException:
                        Lease(self, lower).release()
                        raise
                    return Searching(self, lower, weights)
            pending.wait()
            self._pending.pop((kind, closed), None)
        key = (kind, closed)
        while True:
            with self._lock:
                klass = self._class(kind, closed)
                held = klass.pool.get(state)
                if held is not None:
                    klass.pool.move_to_end(state)
                    klass.used = time.monotonic()
                    held.reserved_until = 0.0  # in use now: kept as any state in use, no longer as prepared
                    if lease:
                        held.readers += 1
                        return Lease(self, held)
                    return held.metric
                moving = self._moving.get((kind, closed, state))
                deferred = aside = False
                free = self._unrestricted(kind) if lease and self.searching else None  # what a search may read
                if moving is None:
                    extra = self._extra(klass, closing)
                    sub = self._subset(klass, extra) if provisional and self.provisional else None
                    if sub is not None:
                        sub.readers += 1  # read now: not the one moved
                    # the class moves a metric already (its first one, customised in full, after a start or a pass of a
                    # class not seen before): searched now, no second move beside it on the two cores (each request of a
                    # new state would start one); a later request of the state moves one
                    aside = (
                        lease
                        and self.searching
                        and (sub is not None or free is not None)
                        and any(k[:2] == key for k in self._moving)
                    )
                    if not aside:
                        slot, grown = self._take(kind, closed, klass, extra)
                        deferred = sub is not None and slot is None and not grown
                        done = threading.Event()
                        self._moving[(kind, closed, state)] = (done, extra, self._generation)
                        self._latest[key] = (math.inf, extra)  # a move under way: no growth starts meanwhile
                        generation = self._generation
                else:
                    done, extra, began = moving
                    # a move begun before the zones changed (forget_states, clear) is of a state whose key means
                    # other zones now: nothing is answered from its arcs, the request waits for it and looks again
                    current = began == self._generation
                    sub = self._subset(klass, extra) if current and provisional and self.provisional else None
                    if sub is not None:
                        sub.readers += 1
                        generation = began
                lower = free if sub is None and (moving is None or current) else None
                if lower is not None:
                    lower.readers += 1
            if aside:
                searching = Searching(self, sub if sub is not None else lower, self._state_weights(klass, extra))
                self.prepare(kind, closed, state, closing)  # moved after the class's move, on the ahead thread
                return searching
            if sub is not None:
                newly = np.setdiff1d(extra, sub.closed, assume_unique=True)
                ready = functools.partial(self._after, done, kind, closed, state, closing)
                weights = functools.partial(self._state_weights, klass, extra) if self.searching else None
                if deferred:  # the metric read is the only one to move: moved once released
                    move = functools.partial(self._move_read, klass, key, sub, state, extra, done, generation)
                    return Provisional(self, sub, newly, ready, move, done=done, weights=weights, generation=generation)
                if moving is None:
                    threading.Thread(
                        target=self._into, args=(klass, key, slot, state, extra, done, generation), name="cch-move"
                    ).start()
                return Provisional(self, sub, newly, ready, done=done, weights=weights, generation=generation)
            if lower is not None:  # no held metric of the class below the state: the A* on the unrestricted one's
                if moving is None:
                    threading.Thread(
                        target=self._into, args=(klass, key, slot, state, extra, done, generation), name="cch-move"
                    ).start()
                return Searching(self, lower, self._state_weights(klass, extra))
            if moving is not None:  # moved by another thread (ahead of need): it is nearer done than a move of ours
                done.wait()
                continue
            return self._into(klass, key, slot, state, extra, done, generation, lease=lease)

    def _unrestricted(self, kind: str) -> _Slot | None:
        """A metric of ``kind`` with nothing closed (no class, no zone: a lower bound of every state), held and not
        being moved, for a :class:`Searching`. Under the lock."""
        free = self._classes.get((kind, frozenset()))
        if free is None:
            return None
        return next((slot for slot in (*free.pool.values(), *free.spares) if not len(slot.closed)), None)

    @staticmethod
    def _state_weights(klass: _Class, extra: np.ndarray) -> np.ndarray:
        """The weights of a state: the class's base with ``extra`` closed (what its metric would be customised to)."""
        weights = klass.base.copy()
        weights[extra] = INF
        return weights

    def _move_read(
        self,
        klass: _Class,
        key: tuple[str, ClassKey],
        read: _Slot,
        state: Hashable,
        extra: np.ndarray,
        done: threading.Event,
        generation: int,
    ) -> None:
        """Move the metric a :class:`Provisional` read (released now) into its state; another, or a new one in
        full, when a request reads it still or it left the pool meanwhile."""
        with self._lock:
            if read.readers == 0 and read.state is not None and klass.pool.get(read.state) is read:
                slot: _Slot | None = klass.pool.pop(read.state)
            elif read.readers == 0 and read in klass.spares:
                klass.spares.remove(read)
                slot = read
            else:
                slot = self._nearest(klass, extra)
        self._into(klass, key, slot, state, extra, done, generation)

    def _after(
        self,
        done: threading.Event,
        kind: str,
        closed: ClassKey,
        state: Hashable,
        closing: Callable[[], frozenset[int]],
        lease: bool,
    ) -> Any:
        """The state's metric (a :class:`Lease` of it with ``lease``) once its move is done (:meth:`Provisional.wait`)."""
        done.wait()
        return self._lookup(kind, closed, state, closing, provisional=False, lease=lease)

    @staticmethod
    def _extra(klass: _Class, closing: Callable[[], frozenset[int]]) -> np.ndarray:
        """The arcs a state closes beyond the class's base, sorted (arcs the class closes already change nothing)."""
        extra = np.fromiter(closing(), dtype=np.int64)
        return np.unique(extra[klass.base[extra] < INF])

    def _take(self, kind: str, closed: ClassKey, klass: _Class, extra: np.ndarray) -> tuple[_Slot | None, bool]:
        """The metric a request moves into a new state, and whether a new one is made instead (the pool grows that
        way: :meth:`_fresh`) or because none may move (``None``, False: every one is read). Under the lock."""
        if klass.size() < self.variants and len(self) < self.cache_size and not klass.spares:
            if not (self.background and klass.pool):  # a new one in the state (:meth:`_fresh`), once
                return None, True
            self._grow(kind, closed, extra)  # recycle one now, grow the pool meanwhile
        return self._nearest(klass, extra), False

    @staticmethod
    def _subset(klass: _Class, extra: np.ndarray) -> _Slot | None:
        """A held metric (pool or spare) whose closed arcs are all closed in the wanted state, the one with the most.
        Under the lock."""
        best: _Slot | None = None
        for slot in (*klass.pool.values(), *klass.spares):
            if (
                (best is None or len(slot.closed) > len(best.closed))
                and len(slot.closed) <= len(extra)
                and not len(np.setdiff1d(slot.closed, extra, assume_unique=True))
            ):
                best = slot
        return best

    def _into(
        self,
        klass: _Class,
        key: tuple[str, ClassKey],
        slot: _Slot | None,
        state: Hashable,
        extra: np.ndarray,
        done: threading.Event,
        generation: int,
        reserved_until: float = 0.0,
        *,
        lease: bool = False,
    ) -> Any:
        """Move ``slot`` (or a new metric, :meth:`_fresh`) into ``state``, then hold it in the pool. Outside the
        lock: other requests are answered meanwhile (RoutingKit releases the GIL). With ``lease``, a
        :class:`Lease` of it, taken under the lock it enters the pool under (no background move gets it
        first)."""
        try:
            if slot is None:
                slot = self._fresh(klass, extra)
            else:
                self._move(klass, slot, extra)
            with self._lock:
                self._latest[key] = (time.monotonic(), extra)
                if lease:  # before the trim: a metric being read is never the one trimmed
                    slot.readers += 1
                if self._classes.get(key) is klass:
                    if generation == self._generation:  # the zones are those the state was made of
                        slot.state, slot.reserved_until = state, reserved_until
                        klass.pool[state] = slot
                        if not reserved_until:  # a request's state: in use now
                            klass.used = time.monotonic()
                        if reserved_until:  # prepared ahead: the state in use stays the most recently used
                            klass.pool.move_to_end(state, last=False)
                    else:
                        slot.state, slot.reserved_until = None, 0.0
                        klass.spares.append(slot)
                    self._trim()
            return Lease(self, slot) if lease else slot.metric
        finally:
            with self._lock:
                self._moving.pop((key[0], key[1], state), None)
            done.set()

    def prepare(
        self,
        kind: str,
        closed: ClassKey,
        state: Hashable,
        closing: Callable[[], frozenset[int]],
        *,
        reserved_until: float = 0.0,
    ) -> bool:
        """Move a metric of a class in use into ``state`` ahead of need, in a background thread (one move at a time,
        so one core stays with the requests); True when queued.

        The metric moved is the pool's nearest to the state (fewest arcs to change), never the one
        in use (the pool's most recently used), one a request is reading, nor one prepared and
        still reserved: that is what is evicted. A pool under :data:`VARIANTS` grows instead (:meth:`_fresh`:
        a copy moved, ahead of need too). The state stays reserved
        until ``reserved_until`` (``time.time()``): a request's move takes any other metric first.
        A class not in use (no metric held) is not prepared.
        """
        job = (kind, closed, state)
        with self._lock:
            klass = self._classes.get((kind, closed))
            if klass is None or klass.size() == 0:
                return False
            if state in klass.pool or job in self._moving:  # held (in use, or prepared already): left as it is
                return False
            self._ahead[job] = (closing, reserved_until)
            queued = [k for k in self._ahead if k[:2] == job[:2]]
            if len(queued) > max(
                1, self.variants - 1
            ):  # a pool holds ``variants``, one in use: the oldest waits no more
                del self._ahead[queued[0]]
            if self._ahead_thread is None:
                self._ahead_thread = threading.Thread(target=self._prepare_queued, name="cch-ahead")
                self._ahead_thread.start()
        return True

    def _prepare_queued(self) -> None:
        """The thread that moves the queued states (:meth:`prepare`), oldest first, until none is left. A state that
        fails is logged and skipped; the thread never dies with states queued and itself still marked running."""
        try:
            self._prepare_each()
        except BaseException:
            with self._lock:
                self._ahead_thread = None  # the next prepare starts another
            raise

    def _prepare_each(self) -> None:
        while True:
            with self._lock:
                if not self._ahead:
                    slot = self._perfect_next()
                    if slot is None:
                        self._ahead_thread = None
                        return
                else:
                    slot = None
                    (kind, closed, state), (closing, until) = self._ahead.popitem(last=False)
                    klass = self._classes.get((kind, closed))
            if slot is not None:
                self._perfect_one(slot)
                continue
            if klass is None:
                continue
            try:
                extra = self._extra(klass, closing)  # outside the lock: a pass's open shapes take milliseconds
            except Exception:
                log.exception("state not prepared", extra={"kind": kind})
                continue
            key = (kind, closed)
            while True:  # after the class's moves under way (a request's): never two moves of a class at once
                with self._lock:
                    busy = [m[0] for k, m in self._moving.items() if k[:2] == key]
                if not busy:
                    break
                for event in busy:
                    event.wait()
            with self._lock:
                if self._classes.get(key) is not klass or state in klass.pool or (kind, closed, state) in self._moving:
                    continue
                grow = klass.size() < self.variants and len(self) < self.cache_size and not klass.spares
                slot = None if grow else self._nearest(klass, extra, ahead=True)
                if slot is None and not grow:
                    log.debug("state not prepared: every metric in use or reserved", extra={"arcs_closed": len(extra)})
                    continue
                done = threading.Event()
                self._moving[(kind, closed, state)] = (done, extra, self._generation)
                self._latest[key] = (math.inf, extra)
                generation = self._generation
            try:
                self._into(klass, key, slot, state, extra, done, generation, until)
            except Exception:  # the metric is lost with its move; the request for the state moves another
                log.exception("state not prepared", extra={"kind": kind, "arcs_closed": len(extra)})
                continue
            self.ahead["prepared"] += 1
            log.debug("state prepared", extra={"arcs_closed": len(extra), "grown": slot is None})

    def perfect(self, within_s: float = PERFECT_RECENT_S) -> int:
        """Perfect, in the background, the metric in use of each class used within ``within_s`` (a worker's timer
        calls it with :meth:`prepare`): its searches then relax only the arcs a shortest path can take
        (``Metric.perfect``: at a million nodes a search ≈ 0.9 ms against ≈ 2.6 ms; 14–33 s of one core to
        build). Done on the ahead thread once no state is queued to move: a move ahead of need comes first
        (but one queued during a build waits for it). A metric moved later loses it (its searches go on
        exact, as before) and is perfected on the next call. Returns the classes queued."""
        if not self.perfecting:
            return 0
        since = time.monotonic() - within_s
        with self._lock:
            keys = [key for key, klass in self._classes.items() if klass.pool and klass.used >= since]
            for key in keys:
                self._to_perfect[key] = None
            if keys and self._ahead_thread is None:
                self._ahead_thread = threading.Thread(target=self._prepare_queued, name="cch-ahead")
                self._ahead_thread.start()
        return len(keys)

    def _perfect_next(self) -> _Slot | None:
        """The next metric in use to perfect, taken off the queue (None: none left). Under the lock."""
        while self._to_perfect:
            key, _ = self._to_perfect.popitem(last=False)
            klass = self._classes.get(key)
            if klass is not None and klass.pool:
                slot = next(reversed(klass.pool.values()))  # the state in use: the most recently used
                if not slot.metric.is_perfect:
                    return slot
        return None

    def _perfect_one(self, slot: _Slot) -> None:
        """Perfect one metric outside the lock (the binding builds it beside the queries, from a snapshot of the
        metric, and installs it only if the metric was not moved meanwhile)."""
        started = time.perf_counter()
        try:
            done = slot.metric.perfect()
        except Exception:  # the metric stays as it was: exact, not perfected
            log.exception("metric not perfected")
            return
        self.counts["perfect"] += done
        log.debug(
            "metric perfected" if done else "metric moved while perfected",
            extra={"arcs_closed": len(slot.closed), "ms": round((time.perf_counter() - started) * 1000, 1)},
        )

    def _grow(self, kind: str, closed: ClassKey, extra: np.ndarray) -> None:
        """Add a spare to the class in a background thread (one at a time per class), once the class has seen no
        new state for ``grow_quiet_s`` (a burst of new states keeps both cores to its partial customisations),
        made (:meth:`_fresh`) in the state served last (``extra`` closed beyond the base, or a later one), not
        at the base: the next states differ from it by a zone or a pass, a partial customisation, where a
        spare at the base would need every active zone's arcs re-weighted (at a million nodes 21k arcs, over
        the partial share: a full customisation of 7–10 s inside the request that took it, measured)."""
        key = (kind, closed)
        if key in self._growing:
            return
        self._growing.add(key)
        klass = self._classes[key]
        self._latest[key] = (time.monotonic(), extra)

        def customise() -> None:
            try:
                while (wait := self._latest[key][0] + self.grow_quiet_s - time.monotonic()) > 0:
                    time.sleep(max(0.01, min(wait, self.grow_quiet_s)))  # a timer: until the class is quiet
                latest = self._latest[key][1]
                log.debug("pool growing", extra={"arcs_closed": len(latest)})
                slot = self._fresh(klass, latest)
                log.debug("pool grown", extra={"arcs_closed": len(latest)})
                with self._lock:
                    if self._classes.get(key) is klass and len(self) < self.cache_size:
                        klass.spares.append(slot)
            finally:
                self._growing.discard(key)

        # not a daemon: the interpreter waits for it at exit rather than kill it inside the library
        threading.Thread(target=customise, name="cch-customise").start()

    def settle(self, timeout_s: float = 600.0) -> bool:
        """Wait for the background customisations (benchmarks, tests): warming, growths, moves and states prepared
        ahead; False when some still run at the deadline."""
        deadline = time.monotonic() + timeout_s
        for worker in self._warming:
            worker.join(max(0.0, deadline - time.monotonic()))
        self._warming = [w for w in self._warming if w.is_alive()]
        while self._busy() and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the condition, with a deadline
        return not self._busy() and not self._warming

    def _busy(self) -> bool:
        return bool(self._growing or self._moving or self._ahead_thread is not None)

    @staticmethod
    def _nearest(klass: _Class, closed: np.ndarray, *, ahead: bool = False) -> _Slot | None:
        """The metric to move to ``closed``: of the spares and the pool, the one with the fewest arcs to change
        (a spare among equals, then the least recently used), the pool's most recently used aside (the state
        in use now stays) unless it is the only one; taken out of the pool or the spares. Never one a request
        is reading (:class:`Provisional`); one prepared ahead and still reserved only when nothing else is
        left, and never for another state prepared ahead (``ahead``). ``None``: none may move.

        Never a spare for being a spare: a spare still at the base (worker start, or the zones replaced)
        is as far from a state as all its zones' arcs, a full customisation at a province's scale."""
        states = list(klass.pool)
        held = states[:-1] if ahead or klass.spares or len(states) > 1 else states
        now = time.time()
        candidates = [
            s
            for s in (*klass.spares, *(klass.pool[s] for s in held))
            if s.readers == 0 and not (ahead and s.reserved_until > now)
        ]
        if not candidates:
            return None
        slot = min(candidates, key=lambda s: (s.reserved_until > now, _distance(s.closed, closed)))
        if slot in klass.spares:
            klass.spares.remove(slot)
        else:
            klass.pool.pop(slot.state)
        return slot

    def _fresh(self, klass: _Class, closed: np.ndarray) -> _Slot:
        """A new metric of the class with ``closed`` closed beyond its base: a copy of the held metric nearest to it
        (:meth:`_cch.Metric.copy`, a memcpy: 0.1–0.2 s at a million nodes where a full customisation takes 5–6 s)
        moved by the arcs that differ, or customised in full when the class holds none. The metric copied
        is leased meanwhile: no move takes it half copied."""
        with self._lock:
            held = [*klass.pool.values(), *klass.spares]
            source = min(held, key=lambda s: _distance(s.closed, closed)) if held else None
            if source is not None:
                source.readers += 1
        if source is None:
            weights = klass.base.copy()
            weights[closed] = INF
            return _Slot(self._customised(weights), None, closed)
        try:
            slot = _Slot(source.metric.copy(), None, source.closed)
        finally:
            with self._lock:
                source.readers -= 1
        self.counts["copies"] += 1
        self._move(klass, slot, closed)
        return slot

    def _move(self, klass: _Class, slot: _Slot, closed: np.ndarray) -> None:
        """Re-customise ``slot`` from its closed arcs to ``closed``: only the arcs that differ, or in full when many do."""
        changed = np.setxor1d(slot.closed, closed, assume_unique=True)
        if len(changed) == 0:
            slot.closed = closed
            return
        started = time.perf_counter()
        weights = klass.base[changed]
        weights[np.isin(changed, closed, assume_unique=True)] = INF
        if len(changed) > self.partial_share * len(klass.base):
            full = klass.base.copy()
            full[closed] = INF
            slot.metric.customize(full, self._threads(len(full)))
            self.counts["full"] += 1
        else:
            slot.metric.update_weights(changed.astype(np.uint32), weights)
            self.counts["partial"] += 1
            self.counts["arcs"] += len(changed)
        slot.closed = closed
        log.debug(
            "metric moved",
            extra={
                "arcs": len(changed),
                "partial": len(changed) <= self.partial_share * len(klass.base),
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "growing": len(self._growing),
            },
        )

    def _trim(self) -> None:
        """Keep at most ``cache_size`` metrics: the least recently used classes give theirs up first, spares before
        states, never a class's state in use (its most recent), a metric being read (:class:`Lease`) or one
        prepared and still reserved; when only those are left the cache stays over its bound until a later trim.
        Under the lock."""
        now = time.time()

        def free(slot: _Slot) -> bool:
            return slot.readers == 0 and slot.reserved_until <= now

        while len(self) > self.cache_size:
            last = next(reversed(self._classes))
            for key, klass in self._classes.items():
                spare = next((x for x in klass.spares if free(x)), None)
                if spare is not None:
                    klass.spares.remove(spare)
                    break
                old = next((st for st in list(klass.pool)[:-1] if free(klass.pool[st])), None)
                if old is not None:
                    del klass.pool[old]
                    break
                if key != last and all(free(x) for x in (*klass.spares, *klass.pool.values())):
                    del self._classes[key]
                    break
            else:
                return

    def potential_metric(self, kind: str, threads: int | None = None) -> Any:
        """The reversed topology customised with the weights rounded down, nothing closed (a lower bound)."""
        metric = self._to_target.get(kind)
        if metric is None:
            scale = self.net.time_array if kind == "time" else self.net.length_array
            metric = _cch.Metric(self._reverse)
            weights = np.floor(scale * 1000).astype(np.uint32)
            metric.customize(weights, self._threads(len(weights)) if threads is None else threads)
            self._to_target[kind] = metric  # only once customised: a request never sees it half done
        return metric

    def potentials(self, targets: Sequence[tuple[int, float]], kind: str) -> list[float]:
        """A lower bound of the cost from every node to the nearest of ``targets`` (node, cost still to go there).

        Seconds or metres; inf: no target reachable. The minimum over the targets of a lower
        bound to each is a lower bound to the nearest, and stays consistent.
        """
        metric = self.potential_metric(kind)
        nodes = np.array([node for node, _ in targets], dtype=np.uint32)
        found = metric.distances_many_to_many(nodes, self.net.all_nodes)
        bound = found.astype(float) / 1000
        bound[found >= INF] = math.inf
        bound += np.array([[extra] for _, extra in targets])
        return bound.min(axis=0).tolist()
