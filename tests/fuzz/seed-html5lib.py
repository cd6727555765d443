#!/usr/bin/env python3
"""Writes fuzzer seeds from html5lib-tests into DIR: every tokenizer test input
(tokenizer/*.test) and every tree-construction #data section (tree-construction/*.dat).

Usage: seed-html5lib.py HTML5LIB_TESTS_DIR OUT_DIR   (prints how many seeds it wrote;
exits 0 writing none when HTML5LIB_TESTS_DIR does not exist)
"""
import glob
import hashlib
import json
import os
import sys


def dat_inputs(path):
    """The #data sections of a tree-construction .dat file."""
    with open(path, 'rb') as f:
        lines = f.read().split(b'\n')
    i = 0
    while i < len(lines):
        if lines[i] == b'#data':
            j = i + 1
            while j < len(lines) and not lines[j].startswith(b'#errors'):
                j += 1
            yield b'\n'.join(lines[i + 1:j])
            i = j
        i += 1


def tokenizer_inputs(path):
    with open(path, encoding='utf-8') as f:
        doc = json.load(f)
    for case in doc.get('tests', []):
        text = case['input']
        if case.get('doubleEscaped'):
            text = text.encode('ascii', 'backslashreplace').decode('unicode_escape')
        try:
            yield text.encode('utf-8')
        except UnicodeEncodeError:  # lone surrogates
            continue


def main():
    src, out = sys.argv[1], sys.argv[2]
    if not os.path.isdir(src):
        print('0 seeds (no %s)' % src)
        return
    os.makedirs(out, exist_ok=True)
    n = 0
    inputs = []
    for p in sorted(glob.glob(os.path.join(src, 'tokenizer', '*.test'))):
        inputs.extend(tokenizer_inputs(p))
    for p in sorted(glob.glob(os.path.join(src, 'tree-construction', '*.dat'))):
        inputs.extend(dat_inputs(p))
    for data in inputs:
        name = hashlib.sha1(data).hexdigest()
        path = os.path.join(out, 'h5-' + name)
        if not os.path.exists(path):
            with open(path, 'wb') as f:
                f.write(data)
            n += 1
    print('%d seeds' % n)


if __name__ == '__main__':
    main()
