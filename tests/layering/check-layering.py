#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check the layering of the library from its object files.

usage: check-layering.py [--nm NM] [--root DIR] ARCHIVE [ARCHIVE ...]

The archives are the layers, lowest first (util/, backends/, hw/vfio/...):
each folder is one static archive whose members are its object files. Two
rules, both read from the symbol tables (`nm`):

  1. calls go down: an object may reference a symbol defined in its own
     layer or a lower one, never one defined only in a higher layer;
  2. no file circle: within one layer, the graph "object A references a
     symbol defined in object B" has no cycle.

Symbols defined in none of the archives (glib, libc, ...) are ignored.
Objects are named by the archive's folder (relative to --root, the build
directory) and the source's object name: hw/vfio/container.c.o.

Exit status: 0 when both rules hold, 1 when one is broken (every violation
is listed), 2 when the archives cannot be read.
"""
import argparse
import os
import re
import subprocess
import sys

# nm -P -A: "archive[member]: name type value size" ("file: ..." for an object).
NM_LINE = re.compile(r'^(?P<file>[^\[]+?)(?:\[(?P<member>[^\]]+)\])?: (?P<name>\S+) (?P<type>\S)')
# Global definitions (weak, common, ifunc, unique included) and references.
DEFINED = set('ABCDGRSTVWiu')
UNDEFINED = set('Uvw')


class Obj:
    """One object file of one layer and the global symbols it defines/uses."""

    def __init__(self, layer, label):
        self.layer = layer
        self.label = label
        self.defined = set()
        self.undefined = set()


class Layer:
    """One archive: its position (0 = lowest), its name and its objects."""

    def __init__(self, index, archive, name):
        self.index = index
        self.archive = archive
        self.name = name
        self.objects = {}


def fail_read(msg):
    """Report a problem reading the input and exit 2 (never a silent pass)."""
    print(f'check-layering: error: {msg}', file=sys.stderr)
    sys.exit(2)


def layer_name(archive, root):
    """The folder of @archive relative to @root ("hw/vfio"), or its path."""
    folder = os.path.dirname(os.path.abspath(archive))
    if root:
        rel = os.path.relpath(folder, os.path.abspath(root))
        if not rel.startswith('..'):
            return '.' if rel == '.' else rel
    return folder


def object_label(layer, member):
    """A readable name for an archive member: the layer's folder plus the
    object's own name (meson's "meson-generated_.._trace.c.o" becomes
    "trace.c.o", the generated source's name)."""
    base = os.path.basename(member)
    if base.startswith('meson-generated_'):
        base = base[len('meson-generated_'):]
        while base.startswith('.._'):
            base = base[len('.._'):]
    return base if layer.name == '.' else f'{layer.name}/{base}'


def read_layer(nm, layer):
    """Fill @layer's objects from `nm -P -A` of its archive."""
    try:
        res = subprocess.run([nm, '-P', '-A', layer.archive], capture_output=True,
                             text=True, check=False)
    except OSError as e:
        fail_read(f'cannot run {nm}: {e}')
    if res.returncode != 0:
        fail_read(f'{nm} {layer.archive} failed: {res.stderr.strip()}')
    for line in res.stdout.splitlines():
        m = NM_LINE.match(line)
        if not m:
            continue
        member = m.group('member') or m.group('file')
        obj = layer.objects.get(member)
        if obj is None:
            obj = layer.objects[member] = Obj(layer, object_label(layer, member))
        if m.group('type') in DEFINED:
            obj.defined.add(m.group('name'))
        elif m.group('type') in UNDEFINED:
            obj.undefined.add(m.group('name'))
    if not layer.objects:
        fail_read(f'{layer.archive}: no object file in it')


def definitions(layers):
    """Map each global symbol to the objects defining it."""
    where = {}
    for layer in layers:
        for obj in layer.objects.values():
            for sym in obj.defined:
                where.setdefault(sym, []).append(obj)
    return where


def upward_references(layers, where):
    """Rule 1: the messages for references that resolve only above."""
    errors = []
    for layer in layers:
        for obj in sorted(layer.objects.values(), key=lambda o: o.label):
            for sym in sorted(obj.undefined):
                defs = where.get(sym)
                if not defs or any(d.layer.index <= layer.index for d in defs):
                    continue
                d = min(defs, key=lambda o: (o.layer.index, o.label))
                errors.append(f'{obj.label} references {sym} defined in the higher '
                              f'layer {d.label} (layer {d.layer.index} {d.layer.name} '
                              f'is above layer {layer.index} {layer.name})')
    return errors


def same_layer_edges(layer, where):
    """The graph of @layer: object -> {object it uses: first symbol used}."""
    edges = {}
    for obj in layer.objects.values():
        out = edges.setdefault(obj, {})
        for sym in sorted(obj.undefined):
            for d in where.get(sym, []):
                if d.layer is layer and d is not obj and d not in out:
                    out[d] = sym
    return edges


def strongly_connected(nodes, edges):
    """Tarjan's algorithm (iterative): the components of more than one node."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root], key=lambda o: o.label)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top is node:
                            break
                    if len(comp) > 1:
                        comps.append(comp)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child], key=lambda o: o.label))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return comps


def cycle_through(start, comp, edges):
    """A shortest cycle from @start back to it inside component @comp: the
    list of objects, @start first and last."""
    members = set(comp)
    prev = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(edges[node], key=lambda o: o.label):
                if child not in members or child in prev:
                    continue
                prev[child] = node
                if child is start:
                    path = [start]
                    while path[-1] is not start or len(path) == 1:
                        path.append(prev[path[-1]])
                    return list(reversed(path))
                nxt.append(child)
        frontier = nxt
    return [start, start]


def cycles_of(comp, edges):
    """A shortest cycle through each object of @comp, each cycle once
    (the same circle found from another of its objects is not repeated)."""
    seen, cycles = set(), []
    for start in sorted(comp, key=lambda o: o.label):
        path = cycle_through(start, comp, edges)
        ring = path[:-1]
        first = min(range(len(ring)), key=lambda i: ring[i].label)
        key = tuple(o.label for o in ring[first:] + ring[:first])
        if key not in seen:
            seen.add(key)
            cycles.append(path)
    return cycles


def file_cycles(layers, where):
    """Rule 2: the cycles among the objects of one layer, as (number of
    circles, message lines): per tangle of objects, the objects it joins,
    then a shortest circle through each of them ("a -> b (sym b defines)
    -> a (sym a defines)")."""
    count, lines = 0, []
    for layer in layers:
        edges = same_layer_edges(layer, where)
        nodes = sorted(edges, key=lambda o: o.label)
        for comp in strongly_connected(nodes, edges):
            names = ', '.join(sorted(o.label for o in comp))
            lines.append(f'file circle in layer {layer.index} {layer.name} joining '
                         f'{len(comp)} objects: {names}')
            for path in cycles_of(comp, edges):
                steps = [path[0].label]
                for a, b in zip(path, path[1:]):
                    steps.append(f'{b.label} ({edges[a][b]})')
                lines.append(f'  circle: {" -> ".join(steps)}')
                count += 1
    return count, lines


def main():
    """Read the archives, check both rules, report, exit 0/1/2."""
    ap = argparse.ArgumentParser(description='check the layering from the object files')
    ap.add_argument('--nm', default=os.environ.get('NM', 'nm'), help='the nm program')
    ap.add_argument('--root', default=None, help='build directory (names are relative to it)')
    ap.add_argument('archives', nargs='+', help='static archives, lowest layer first')
    o = ap.parse_args()

    layers = [Layer(i, a, layer_name(a, o.root)) for i, a in enumerate(o.archives)]
    for layer in layers:
        if not os.path.exists(layer.archive):
            fail_read(f'{layer.archive}: no such archive')
        read_layer(o.nm, layer)
    where = definitions(layers)
    upward = upward_references(layers, where)
    circles, circle_lines = file_cycles(layers, where)
    summary = ' < '.join(f'{layer.name} ({len(layer.objects)} objects)' for layer in layers)
    if upward or circles:
        for line in upward + circle_lines:
            print(f'check-layering: {line}')
        print(f'check-layering: FAILED: {len(upward)} reference(s) to a higher layer, '
              f'{circles} file circle(s), in {summary}')
        return 1
    print(f'check-layering: OK: {summary}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
