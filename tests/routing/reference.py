"""An independent reference for the router: shapely snapping and networkx Dijkstra, from scratch.

Designated areas (routing.md item 5) are given as their shape and the part left open (the
designated roads buffered by ``match_m``): an edge is closed when what is left of it outside
the open part still meets the area.

It shares with the router only the graph, the projection and the policy's definition of which
roads the map closes to a load (the rule itself, not a search). Snapping is a brute-force
scan of every usable edge (``shapely.distance``, ``line_locate_point``), with every edge at
the minimal distance kept (so a tie can only make the reference cheaper); the ends' partial
edges are cut with ``shapely.ops.substring`` and tested against the zones, and the search is
networkx's Dijkstra from a virtual origin to a virtual destination joined to the snapped
edges' nodes by their partial costs. Used by the tests and by ``benchmarks/bench_routes.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from hazmat.routing.geo import Projection
from hazmat.routing.graph import edge_geometry
from hazmat.routing.policy import Load, static_reason
from hazmat.routing.restrictions import CityRoadRules

ORIGIN, DESTINATION = ("reference", "origin"), ("reference", "destination")


class Reference:
    """Optimal cost between two points for one load, with always-active zones (shapes in metres)."""

    def __init__(
        self,
        graph: nx.MultiDiGraph,
        projection: Projection,
        load: Load,
        rules: CityRoadRules,
        zones: Sequence[BaseGeometry] = (),
        *,
        weight: str = "travel_time",
        areas: Sequence[tuple[BaseGeometry, BaseGeometry]] = (),
    ) -> None:
        """``areas``: designated areas as (area, the part left open: its roads buffered by match_m), in metres."""
        self.graph, self.projection, self.zones, self.weight = graph, projection, list(zones), weight
        self.areas = list(areas)
        self.arcs = list(graph.edges(keys=True, data=True))
        self.key_of = {(u, v, k): i for i, (u, v, k, _) in enumerate(self.arcs)}
        lonlat = [edge_geometry(graph, u, v, d) for u, v, _, d in self.arcs]
        self.geoms = np.array(list(projection.to_metric(np.array(lonlat, dtype=object))), dtype=object)
        self.usable = np.array([static_reason(d, load, rules=rules) is None for *_, d in self.arcs])
        meets = [shapely.intersects(z, self.geoms) for z in self.zones]
        # a designated area closes an edge when what is left of it off the open roads still meets the area
        meets += [shapely.intersects(area, shapely.difference(self.geoms, open_)) for area, open_ in self.areas]
        self.open = self.usable & ~np.any(meets, axis=0) if meets else self.usable
        self.cost = [float(d[weight]) for *_, d in self.arcs]
        self.open_list: list[bool] = self.open.tolist()  # read per edge by the weight function: plain bools

    def _meets_zone(self, geom: BaseGeometry) -> bool:
        return any(z.intersects(geom) for z in self.zones) or any(
            area.intersects(geom.difference(open_)) for area, open_ in self.areas
        )

    def snap(self, lon: float, lat: float) -> tuple[float, list[tuple[int, float]], BaseGeometry]:
        """Distance to the nearest usable edge, every usable edge at that distance (with the fraction), the point."""
        point = shapely.Point(self.projection.point(lon, lat))
        candidates = np.flatnonzero(self.usable)
        distances = shapely.distance(self.geoms[candidates], point)
        nearest = float(distances.min())
        tied = candidates[distances <= nearest + 1e-6].tolist()
        on = [(i, float(shapely.line_locate_point(self.geoms[i], point, normalized=True))) for i in tied]
        snapped = shapely.line_interpolate_point(self.geoms[on[0][0]], on[0][1], normalized=True)
        return nearest, on, snapped

    def _piece_open(self, i: int, lo: float, hi: float) -> bool:
        return not self._meets_zone(substring(self.geoms[i], lo, hi, normalized=True))

    def route_cost(self, origin: tuple[float, float], destination: tuple[float, float]) -> float | None:
        """The optimal cost (seconds or metres) between the snapped points; ``None`` when no permitted route."""
        joins = self.joins(origin, destination)
        return None if joins is None else self.search(joins)

    def joins(
        self, origin: tuple[float, float], destination: tuple[float, float]
    ) -> list[tuple[Any, Any, float]] | None:
        """The virtual edges joining the snapped points to the graph (``None``: a snapped end lies in a zone)."""
        _, starts, o_point = self.snap(*origin)
        _, stops, d_point = self.snap(*destination)
        if self._meets_zone(o_point) or self._meets_zone(d_point):
            return None
        virtual: list[tuple[Any, Any, float]] = []
        for i, f in starts:
            u, v = self.arcs[i][0], self.arcs[i][1]
            if self._piece_open(i, f, 1.0):
                virtual.append((ORIGIN, v, (1 - f) * self.cost[i]))
            if f <= 0.0:
                virtual.append((ORIGIN, u, 0.0))
        for i, f in stops:
            u, v = self.arcs[i][0], self.arcs[i][1]
            if self._piece_open(i, 0.0, f):
                virtual.append((u, DESTINATION, f * self.cost[i]))
            if f >= 1.0:
                virtual.append((v, DESTINATION, 0.0))
        for i, fo in starts:
            for j, fd in stops:
                if i == j and fo <= fd and self._piece_open(i, fo, fd):
                    virtual.append((ORIGIN, DESTINATION, (fd - fo) * self.cost[i]))
        return virtual

    def search(self, joins: list[tuple[Any, Any, float]]) -> float | None:
        """networkx Dijkstra from the virtual origin to the virtual destination over ``joins`` and the open edges."""
        g = self.graph
        keys = [(u, v, g.add_edge(u, v, reference_cost=c)) for u, v, c in joins]
        try:
            return nx.dijkstra_path_length(g, ORIGIN, DESTINATION, weight=self._weight)
        except (nx.NetworkXNoPath, nx.NodeNotFound):  # no way out of the origin or into the destination
            return None
        finally:
            g.remove_edges_from(keys)
            g.remove_nodes_from([n for n in (ORIGIN, DESTINATION) if n in g])

    def _weight(self, u: Any, v: Any, attrs: dict[Any, dict[str, Any]]) -> float | None:
        best = None
        for k, d in attrs.items():
            if "reference_cost" in d:
                c = d["reference_cost"]
            elif self.open_list[self.key_of[(u, v, k)]]:
                c = float(d[self.weight])
            else:
                continue
            best = c if best is None or c < best else best
        return best
