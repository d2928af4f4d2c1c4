#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""doxygen INPUT_FILTER for the public headers (docs/api-reference.md).

The headers are commented the way glib-based C libraries are (gtk-doc
style): a comment block right above a declaration documents it, its first
line may name the symbol ("vfi_iommufd_new:"), "@name: text" lines describe
parameters, "@name" in the text refers to one, "Returns:" says what comes
back; a comment after a member or enum value on the same line documents that
member. Doxygen reads only its own markup, so this filter rewrites each
header, for doxygen's eyes only, keeping every line where it was (warnings
point at the real line):

  - the SPDX line stays a plain comment; the first other comment, above the
    include guard, documents the file (@file);
  - a comment whose last line is directly followed by a declaration (no
    blank line between) becomes a doc comment (/** ... */) of it; when it is
    followed by a run of several VFI_API declarations (or #defines) without
    a blank line or another comment between them, it documents all of them
    (a doxygen member group, DISTRIBUTE_GROUP_DOC);
  - a comment after code on its first line documents that code (/**< */);
  - every other comment (a section rule, a note followed by a blank line)
    stays a plain comment, invisible to doxygen;
  - inside doc comments: the "symbol:" line is dropped, "@p: text" lines of
    a function's comment become "@param p text", "Returns:" becomes
    "@return", other "@p" become "@p p", and the characters doxygen would
    take as markup (\\ < > #) are escaped.

Usage: doxygen-filter.py HEADER (the result on stdout).
"""
import re
import sys

NAME_LINE = re.compile(r'^(\s*\*?\s*)[A-Za-z_]\w*:\s*$')
PARAM_LINE = re.compile(r'^(\s*\*?\s*)@(\w+)((?:\s*,\s*@\w+)*)\s*:\s?(.*)$')
RETURNS = re.compile(r'^(\s*\*?\s*)Returns:\s?')
INLINE_PARAM = re.compile(r'@(\w+)')


def comments(text):
    """The (start, end) offsets of every /* */ comment of C source @text."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            i = j + 1
        elif text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            if j < 0:
                raise ValueError('unterminated comment')
            out.append((i, j + 2))
            i = j + 2
        else:
            i += 1
    return out


def escape(s):
    return s.replace('\\', '\\\\').replace('<', '\\<').replace('>', '\\>').replace('#', '\\#')


def inline(s):
    return INLINE_PARAM.sub(r'@p \1', escape(s))


def convert_body(body, is_function, gtkdoc):
    """Rewrite the text between the comment markers."""
    lines = body.split('\n')
    out = []
    seen_text = False
    for line in lines:
        if gtkdoc and not seen_text and NAME_LINE.match(line):
            out.append(NAME_LINE.match(line).group(1).rstrip())
            seen_text = True
            continue
        if line.strip(' *'):
            seen_text = True
        m = PARAM_LINE.match(line)
        if m and is_function:
            names = [m.group(2)] + re.findall(r'@(\w+)', m.group(3))
            out.append(m.group(1) + '@param ' + ','.join(names) + ' ' + inline(m.group(4)))
            continue
        m = RETURNS.match(line)
        if m:
            out.append(m.group(1) + '@return ' + inline(line[m.end():]))
            continue
        out.append(inline(line))
    return '\n'.join(out)


def statement_end(lines, i):
    """Index of the last line of the declaration starting at line @i."""
    if lines[i].lstrip().startswith('#'):
        while lines[i].rstrip().endswith('\\') and i + 1 < len(lines):
            i += 1
        return i
    depth = 0
    while i < len(lines):
        code = re.sub(r'/\*.*?\*/', '', lines[i])
        depth += code.count('(') - code.count(')') + code.count('{') - code.count('}')
        if depth <= 0 and (code.rstrip().endswith(';') or code.rstrip().endswith('}')):
            return i
        i += 1
    return len(lines) - 1


def is_declaration(line):
    s = line.strip()
    if not s or s.startswith('/*') or s.startswith('//') or s.startswith('}'):
        return False
    if s.startswith('#'):
        return s.startswith('#define')
    return True


def group_kind(line):
    s = line.strip()
    if s.startswith('VFI_API'):
        return 'api'
    if s.startswith('#define'):
        return 'define'
    return None


def filter_header(text):
    lines = text.split('\n')
    starts = [0]
    for ln in lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)

    def line_of(off):
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= off:
                lo = mid
            else:
                hi = mid - 1
        return lo

    # Per line: text to put before a comment starting there, text to append.
    edits = []          # (start, end, replacement)
    group_end_lines = {}  # line index -> True: append the member group's end
    file_done = False
    code_seen = False
    last = 0
    for start, end in comments(text):
        if text[last:start].strip():
            code_seen = True
        last = end
        body = text[start + 2:end - 2]
        sl, el = line_of(start), line_of(end - 1)
        before = text[starts[sl]:start]
        after = text[end:starts[el] + len(lines[el])]
        if 'SPDX-License-Identifier' in body:
            continue
        if not file_done and not code_seen and not before.strip():
            file_done = True
            gtk = body.startswith('*')
            new = '/**' + convert_body(body[1:] if gtk else body, False, gtk) + ' @file */'
            edits.append((start, end, new))
            continue
        if before.strip():
            new = '/**<' + convert_body(body.lstrip('*<'), False, False) + '*/'
            edits.append((start, end, new))
            continue
        nxt = el + 1
        if after.strip():
            target = el
        elif nxt < len(lines) and is_declaration(lines[nxt]):
            target = nxt
        else:
            continue
        tline = lines[target].strip()
        is_function = (tline.startswith('VFI_API') or tline.startswith('static')) and '(' in tline
        gtk = body.startswith('*')
        new = '/**' + convert_body(body[1:] if gtk else body, is_function, gtk) + '*/'
        kind = group_kind(lines[target])
        members, i = 0, target
        last_end = target
        while kind and i < len(lines) and group_kind(lines[i]) == kind:
            last_end = statement_end(lines, i)
            members += 1
            i = last_end + 1
        if members >= 2:
            new = '/**@{*/' + new
            group_end_lines[last_end] = True
        edits.append((start, end, new))

    out = []
    pos = 0
    for start, end, new in edits:
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    result = ''.join(out)
    if group_end_lines:
        # Line numbers are unchanged by the edits: close each group at the
        # start of the line after it (not inside a #define).
        rl = result.split('\n')
        for i in group_end_lines:
            if i + 1 < len(rl):
                rl[i + 1] = '/**@}*/' + rl[i + 1]
            else:
                rl[i] += '\n/**@}*/'
        result = '\n'.join(rl)
    return result


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1], encoding='utf-8') as f:
        text = f.read()
    sys.stdout.write(filter_header(text))
    return 0


if __name__ == '__main__':
    sys.exit(main())
