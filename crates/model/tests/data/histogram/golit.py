"""Convert the table-driven cases of Prometheus' model/histogram Go tests into JSON data.

Numbers become strings (exact integers stay integers-as-strings; floats are Python repr of
the correctly rounded value of Go's exact constant arithmetic)."""
import json, re, sys
from fractions import Fraction

TOK = re.compile(r'''\s*(?:(//[^\n]*)|(/\*.*?\*/)|(`[^`]*`)|("(?:\\.|[^"\\])*")|(0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)|(\[\]|:=|&&|\|\||==|!=|<=|>=|<<|>>|[{}()\[\],:&*+\-/.;<>!=]))''', re.S)

def tokenize(s):
    pos, out = 0, []
    while pos < len(s):
        m = TOK.match(s, pos)
        if not m:
            if s[pos:].strip() == '': break
            raise SyntaxError('bad token at %r' % s[pos:pos+40])
        pos = m.end()
        if m.group(1) or m.group(2): continue
        if m.group(3): out.append(('str', m.group(3)[1:-1]))
        elif m.group(4): out.append(('str', json.loads(m.group(4))))
        elif m.group(5): out.append(('num', m.group(5)))
        elif m.group(6): out.append(('id', m.group(6)))
        elif m.group(7): out.append(('p', m.group(7)))
    return out

class Special:
    def __init__(s, v): s.v = v

CONSTS = {
    'CustomBucketsSchema': Fraction(-53), 'ExponentialSchemaMax': Fraction(8),
    'ExponentialSchemaMin': Fraction(-4), 'ExponentialSchemaMaxReserved': Fraction(52),
    'ExponentialSchemaMinReserved': Fraction(-9),
    'UnknownCounterReset': 'Unknown', 'CounterReset': 'CounterReset',
    'NotCounterReset': 'NotCounterReset', 'GaugeType': 'Gauge',
    'true': True, 'false': False, 'nil': None,
    'math.MaxFloat64': float.fromhex('0x1.fffffffffffffp+1023'),
    'math.SmallestNonzeroFloat64': 5e-324,
    'math.MaxInt': Fraction(2**63-1), 'math.MaxUint64': Fraction(2**64-1), 'math.MaxInt64': Fraction(2**63-1),
}

class Unsupported(Exception): pass

class P:
    def __init__(s, toks): s.t, s.i = toks, 0
    def peek(s, k=0): return s.t[s.i+k] if s.i+k < len(s.t) else ('eof', '')
    def next(s): tok = s.peek(); s.i += 1; return tok
    def expect(s, v):
        tok = s.next()
        if tok[1] != v: raise SyntaxError('expected %s got %r near %r' % (v, tok, s.t[s.i-5:s.i+5]))
    def skip_type(s):
        # a type: []T, map[K]V, *T, struct{...}, Name, pkg.Name, Name[T]
        tok = s.peek()
        if tok == ('p', '[]'): s.next(); return '[]' + s.skip_type()
        if tok == ('p', '*'): s.next(); return s.skip_type()
        if tok == ('p', '&'): s.next(); return s.skip_type()
        if tok == ('id', 'map'):
            s.next(); s.expect('['); k = s.skip_type(); s.expect(']'); return 'map:' + s.skip_type()
        if tok == ('id', 'struct'):
            s.next(); s.skip_braces(); return 'struct'
        if tok[0] == 'id':
            s.next(); name = tok[1]
            if s.peek() == ('p', '[') and s.peek(1)[0] == 'id' and s.peek(2) == ('p', ']'):
                s.next(); s.next(); s.next()
            return name
        raise SyntaxError('type? %r' % (tok,))
    def skip_braces(s):
        s.expect('{'); depth = 1
        while depth:
            tok = s.next()
            if tok == ('p', '{'): depth += 1
            elif tok == ('p', '}'): depth -= 1
            elif tok[0] == 'eof': raise SyntaxError('eof')
    def composite(s, typ):
        s.expect('{')
        elem = typ[2:] if typ.startswith('[]') else (typ[4:] if typ.startswith('map:') else None)
        items, keyed = [], {}
        while s.peek() != ('p', '}'):
            # key: value or value
            if s.peek()[0] == 'id' and s.peek(1) == ('p', ':') and not typ.startswith('map:'):
                k = s.next()[1]; s.next(); keyed[k] = s.value(None)
            elif typ.startswith('map:'):
                k = s.value(None); s.expect(':'); keyed[k if isinstance(k, str) else str(k)] = s.value(elem)
            else:
                items.append(s.value(elem))
            if s.peek() == ('p', ','): s.next()
        s.expect('}')
        if typ == 'Span':
            if keyed: return [keyed.get('Offset', Fraction(0)), keyed.get('Length', Fraction(0))]
            return items
        if typ and typ.startswith('map:'):
            return {'__map__': keyed}
        if keyed:
            d = dict(keyed)
            if typ: d['__type__'] = typ
            return d
        if typ and not typ.startswith('[]') and items:
            return {'__pos__': items, '__type__': typ}
        return items
    def value(s, typ):
        v = s.unary(typ)
        while s.peek() in (('p', '+'), ('p', '-'), ('p', '*'), ('p', '/')):
            op = s.next()[1]; r = s.unary(typ)
            v = arith(v, op, r)
        return v
    def unary(s, typ):
        tok = s.peek()
        if tok == ('p', '-'):
            s.next(); v = s.unary(typ); return arith(Fraction(0), '-', v) if not isinstance(v, float) else -v
        if tok == ('p', '+'): s.next(); return s.unary(typ)
        if tok == ('p', '('):
            s.next(); v = s.value(typ); s.expect(')'); return v
        if tok == ('p', '{'): return s.composite(typ)
        if tok == ('p', '&'): s.next(); return s.unary(typ)
        if tok[0] == 'num':
            s.next(); txt = tok[1]
            if txt.lower().startswith('0x'): return Fraction(int(txt, 16))
            return Fraction(txt)
        if tok[0] == 'str': s.next(); return tok[1]
        if tok == ('p', '[]') or tok == ('id', 'map'):
            t = s.skip_type(); return s.composite(t)
        if tok[0] == 'id':
            name = tok[1]
            if name == 'func': raise Unsupported('func literal')
            # composite literal Name{...} / Name[T]{...}
            if s.peek(1) == ('p', '{') or (s.peek(1) == ('p', '[') and s.peek(3) == ('p', ']') and s.peek(4) == ('p', '{')):
                t = s.skip_type(); return s.composite(t)
            s.next()
            if s.peek() == ('p', '('):
                s.next(); args = []
                while s.peek() != ('p', ')'):
                    args.append(s.value(None))
                    if s.peek() == ('p', ','): s.next()
                s.expect(')')
                return call(name, args)
            if name in CONSTS: return CONSTS[name]
            raise Unsupported('identifier ' + name)
        raise SyntaxError('value? %r' % (tok,))

def tofloat(v): return float(v) if isinstance(v, Fraction) else v

def arith(a, op, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return {'+': a + b, '-': a - b, '*': a * b, '/': a / b}[op]
    a, b = tofloat(a), tofloat(b)
    if op == '/' and b == 0: return float('nan') if a == 0 or a != a else (float('inf') if a > 0 else float('-inf'))
    return {'+': a + b, '-': a - b, '*': a * b, '/': a / b if b else 0}[op]

def call(name, args):
    if name == 'math.Inf': return float('inf') if args[0] >= 0 else float('-inf')
    if name == 'math.NaN': return float('nan')
    if name in ('float64', 'int32', 'uint32', 'int64', 'uint64', 'int', 'uint8'):
        v = args[0]
        if name == 'float64': return float(v) if isinstance(v, Fraction) else v
        return v
    if name == 'math.Float64frombits':
        import struct
        return struct.unpack('<d', struct.pack('<Q', int(args[0])))[0]
    if name == 'math.Sqrt': import math; return math.sqrt(tofloat(args[0]))
    if name == 'math.Nextafter':
        import math; return math.nextafter(tofloat(args[0]), tofloat(args[1]))
    if name == 'errors.New': return args[0]
    raise Unsupported('call ' + name)

def enc(v):
    if isinstance(v, bool) or v is None: return v
    if isinstance(v, Fraction):
        if v.denominator == 1: return str(v.numerator)
        return repr(float(v))
    if isinstance(v, float): return repr(v)
    if isinstance(v, str): return v
    if isinstance(v, list): return [enc(x) for x in v]
    if isinstance(v, dict): return {k: enc(x) for k, x in v.items()}
    return v

def extract(src, func):
    i = src.index('func ' + func + '(')
    body = src[i:]
    m = re.search(r'\n\t(\w+) :?= (\[\]struct|map\[string\]struct) ?\{', body)
    toks = tokenize(body[m.start():])
    p = P(toks)
    p.next(); p.next()  # name :=
    typ = p.skip_type()
    typ = '[]struct' if typ.startswith('[]') else 'map:struct'
    # parse cases one at a time so that an unsupported case is skipped, not fatal
    p.expect('{')
    cases, skipped = [], []
    ismap = typ.startswith('map:')
    while p.peek() != ('p', '}'):
        start = p.i
        try:
            if ismap:
                k = p.value(None); p.expect(':'); v = p.value('struct')
                if isinstance(v, dict): v['name'] = k
            else:
                v = p.value('struct')
            cases.append(enc(v))
        except Unsupported as e:
            # skip to the end of this element
            p.i = start
            if ismap: p.next(); p.next()
            p.skip_braces()
            skipped.append(str(e))
        if p.peek() == ('p', ','): p.next()
    return cases, skipped

if __name__ == '__main__':
    src = open(sys.argv[1]).read()
    out = {}
    for func in sys.argv[3:]:
        cases, skipped = extract(src, func)
        out[func] = cases
        print(func, len(cases), 'cases; skipped', skipped, file=sys.stderr)
    json.dump(out, open(sys.argv[2], 'w'), indent=1, sort_keys=True)
