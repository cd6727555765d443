"""The fast scanner's tokenizer against every html5lib tokenizer case that applies: start tag
names, attributes and the self-closing flag, from the data state (tests/htmlscan-tokens.c
prints them). Skips (exit 77) where ../shared/html5lib-tests is absent.

Cases that do not apply are counted as skipped: other initial states or a last start tag,
doubleEscaped inputs, inputs a UTF-8 file cannot hold (lone surrogates), and inputs with code
points where this scanner follows gumbo 0.10.1 rather than today's standard (the controls and
noncharacters gumbo's input stream turns into U+FFFD, and NUL, which gumbo drops at the start
of an attribute name)."""
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.environ.get('HTML5LIB_TESTS') or os.path.join(HERE, '..', '..', 'shared',
                                                         'html5lib-tests')
HELPER = os.environ['HTMLSCAN_TOKENS']


def gumbo_replaced(ch):
    c = ord(ch)
    return (c == 0 or 1 <= c <= 8 or c == 0xB or 0xE <= c <= 0x1F or 0x7F <= c <= 0x9F or
            0xFDD0 <= c <= 0xFDEF or (c & 0xFFFF) in (0xFFFE, 0xFFFF))


def unescape(text):
    return text.encode('ascii', 'backslashreplace').decode('unicode_escape')


def main():
    tokdir = os.path.join(SUITE, 'tokenizer')
    if not os.path.isdir(tokdir):
        print('html5lib-tests not found at %s: skipped' % SUITE)
        return 77
    cases, skipped = [], {}

    def skip(why):
        skipped[why] = skipped.get(why, 0) + 1

    for path in sorted(glob.glob(os.path.join(tokdir, '*.test'))):
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
        for case in doc.get('tests', []):
            states = case.get('initialStates', ['Data state'])
            if 'Data state' not in states or 'lastStartTag' in case:
                skip('initial state other than Data')
                continue
            if case.get('doubleEscaped'):
                skip('doubleEscaped')
                continue
            text = case['input']
            if any(gumbo_replaced(ch) for ch in text):
                skip('gumbo replaces a code point of the input')
                continue
            try:
                data = text.encode('utf-8')
            except UnicodeEncodeError:
                skip('lone surrogate')
                continue
            want = []
            for tok in case['output']:
                if tok[0] == 'StartTag':
                    want.append([tok[1], tok[2], bool(tok[3]) if len(tok) > 3 else False])
            cases.append((os.path.basename(path), case['description'], data, want))

    feed = b''.join(b'%d\n%s' % (len(c[2]), c[2]) for c in cases)
    out = subprocess.run([HELPER], input=feed, stdout=subprocess.PIPE, check=True).stdout
    lines = out.decode('utf-8').split('\n')
    failed = 0
    with_tags = 0
    for (name, desc, data, want), line in zip(cases, lines):
        got = json.loads(line)
        if got is None:
            failed += 1
            print('FAIL %s: %s: the scan failed' % (name, desc))
            continue
        got = [[t[0], dict((k, v) for k, v in t[1]), t[2]] for t in got]
        if want:
            with_tags += 1
        if got != want:
            failed += 1
            if failed <= 20:
                print('FAIL %s: %s\n  input: %r\n  want: %r\n  got:  %r' % (name, desc, data, want, got))
    if len(lines) - 1 != len(cases):
        print('FAIL: %d answers for %d cases' % (len(lines) - 1, len(cases)))
        failed += 1
    print('html5lib tokenizer: %d cases ran (%d with start tags), %d failed, %d skipped: %s' %
          (len(cases), with_tags, failed, sum(skipped.values()),
           ', '.join('%d %s' % (n, why) for why, n in sorted(skipped.items()))))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
