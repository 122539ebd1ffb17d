#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the raw figures of bench.sh into the table and bench.json.

usage: report.py BENCH_RAW BENCH_JSON

Every figure is the median over the rounds; the spread is
(max - min) / median over the rounds that produced a number. A method
whose every round failed keeps its entry, with the first round's reason
as "error" instead of "pps". "kni" is the best of the single-queue kni
figures (kni-b*, kni-busy-*, kni-defer-*, kni-threaded-*, kni-nogro-*)
for that test and size, with "best_of" naming it. The tcp test's
figures are in "tcp_mbps", Mbit/s per method, direction ("to" the peer
or "from" it) and number of streams, with kni-offload's ratio to each
method in the table.
"""

import json
import statistics
import sys


def median_spread(values):
    med = statistics.median(values)
    spread = (max(values) - min(values)) / med if med else 0.0
    return med, spread


def summarize(e, key, values, errors):
    """Add to entry E the median of VALUES as KEY, with its spread and
    rounds, and the failed rounds; or the first error when none passed."""
    if values:
        med, spread = median_spread(values)
        e.update({key: round(med, 1), 'spread': round(spread, 3),
                  'rounds': len(values)})
        if errors:
            e['failed_rounds'] = len(errors)
            e['last_error'] = errors[-1]
    else:
        e['error'] = errors[0]
    return e


def parse(path):
    meta = {}
    runs = {}       # (test, size, method) -> {"pps": [], "errors": []}
    order = {}      # test -> [method, ...] in the order first seen
    rtt = {}        # (method, mode) -> {"p50": [], "p99": [], "errors": []}
    idle = {}       # method -> {"pct": float} or {"error": str}
    tcp = {}        # (method, dir, streams) -> {"mbps": [], "cpu": [[]],
                    #                            "errors": []}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] in ('kernel', 'cpus', 'seconds', 'rounds'):
                meta[w[0]] = w[1] if len(w) > 1 else ''
            elif w[0] == 'round' and len(w) >= 7:
                test, size, method = w[2], int(w[3]), w[4]
                r = runs.setdefault((test, size, method),
                                    {'pps': [], 'errors': []})
                order.setdefault(test, [])
                if method not in order[test]:
                    order[test].append(method)
                if w[5] == 'pps':
                    r['pps'].append(float(w[6]))
                else:
                    r['errors'].append(' '.join(w[6:]) or 'unknown')
            elif w[0] == 'rtt' and len(w) >= 5:
                method, mode = w[2], w[3]
                r = rtt.setdefault((method, mode),
                                   {'p50': [], 'p99': [], 'errors': []})
                if w[4] == 'error':
                    r['errors'].append(' '.join(w[5:]) or 'unknown')
                else:
                    r['p50'].append(float(w[4]))
                    r['p99'].append(float(w[5]))
            elif w[0] == 'tcp' and len(w) >= 7:
                method, direction, streams = w[2], w[3], int(w[4])
                r = tcp.setdefault((method, direction, streams),
                                   {'mbps': [], 'cpu': [], 'errors': []})
                if w[5] == 'mbps':
                    r['mbps'].append(float(w[6]))
                    if len(w) > 8 and w[7] == 'cpu':
                        r['cpu'].append([float(x) for x in w[8:]])
                else:
                    r['errors'].append(' '.join(w[6:]) or 'unknown')
            elif w[0] == 'idle' and len(w) >= 3:
                if w[2] == 'error':
                    idle[w[1]] = {'error': ' '.join(w[3:]) or 'unknown'}
                else:
                    idle[w[1]] = {'pct': float(w[2])}
    return meta, runs, order, rtt, idle, tcp


def is_single_queue_kni(method):
    return method.startswith(('kni-b', 'kni-busy-', 'kni-defer-',
                               'kni-threaded-', 'kni-nogro-'))


def build(meta, runs, order, rtt, idle, tcp):
    results = []
    sizes = sorted({size for (_, size, _) in runs})
    for test in ('to_stack', 'from_stack'):
        for size in sizes:
            entries = []
            for method in order.get(test, []):
                r = runs.get((test, size, method))
                if r is None:
                    continue
                e = {'test': test, 'method': method, 'size': size}
                entries.append(summarize(e, 'pps', r['pps'], r['errors']))
            kni = [e for e in entries
                   if is_single_queue_kni(e['method']) and 'pps' in e]
            best = {'test': test, 'method': 'kni', 'size': size}
            if kni:
                b = max(kni, key=lambda e: e['pps'])
                best.update(pps=b['pps'], spread=b['spread'],
                            rounds=b['rounds'], best_of=b['method'])
            else:
                best['error'] = 'no single-queue kni method produced a number'
            # The ceiling first, then kni's best, then the methods.
            ceiling = [e for e in entries if e['method'] == 'ceiling']
            results.extend(ceiling)
            results.append(best)
            results.extend(e for e in entries if e['method'] != 'ceiling')
    rtts = []
    for (method, mode), r in rtt.items():
        e = {'method': method, 'mode': mode}
        if r['p50']:
            e.update(p50=round(statistics.median(r['p50']), 1),
                     p99=round(statistics.median(r['p99']), 1),
                     rounds=len(r['p50']))
        else:
            e['error'] = r['errors'][0]
        rtts.append(e)
    idles = []
    for method, r in idle.items():
        e = {'method': method}
        e.update(r)
        idles.append(e)
    tcps = []
    for (method, direction, streams), r in tcp.items():
        e = {'method': method, 'direction': direction, 'streams': streams}
        summarize(e, 'mbps', r['mbps'], r['errors'])
        if r['cpu']:
            e['cpu_pct'] = [round(statistics.median(c), 1)
                            for c in zip(*r['cpu'])]
        tcps.append(e)
    return {
        'kernel': meta.get('kernel', ''),
        'cpus': int(meta.get('cpus', 0) or 0),
        'seconds': float(meta.get('seconds', 0) or 0),
        'rounds': int(meta.get('rounds', 0) or 0),
        'results': results,
        'rtt_us': rtts,
        'idle_cpu_pct': idles,
        'tcp_mbps': tcps,
    }


def table(doc):
    out = []
    res = doc['results']
    sizes = sorted({e['size'] for e in res})
    out.append('kni bench: kernel %s, %d vCPUs, %d rounds of %g s; '
               'median kpps, spread = (max - min) / median over the rounds,'
               % (doc['kernel'], doc['cpus'], doc['rounds'], doc['seconds']))
    out.append('kni/x = the best single-queue kni figure divided by the '
               "method's (on the ceiling row: kni's share of the ceiling)")
    for test, title in (('to_stack', 'to_stack: the dataplane sends, '
                         'counted at a tc ingress drop'),
                        ('from_stack', 'from_stack: pktgen transmits, '
                         'the dataplane receives')):
        out.append('')
        out.append(title)
        head = '%-18s' % 'method'
        for size in sizes:
            head += ' | %9s %6s %6s' % ('%d B kpps' % size, 'spread',
                                        'kni/x')
        out.append(head)
        out.append('-' * len(head))
        methods = []
        for e in res:
            if e['test'] == test and e['method'] not in methods:
                methods.append(e['method'])
        errors = []
        for m in methods:
            row = '%-18s' % (m if m != 'kni' else 'kni (best)')
            for size in sizes:
                e = next((x for x in res if x['test'] == test and
                          x['method'] == m and x['size'] == size), None)
                k = next((x for x in res if x['test'] == test and
                          x['method'] == 'kni' and x['size'] == size), None)
                if e is None:
                    row += ' | %9s %6s %6s' % ('-', '', '')
                elif 'pps' not in e:
                    row += ' | %9s %6s %6s' % ('error', '', '')
                    errors.append('  %s, %d B: %s' % (m, size, e['error']))
                else:
                    ratio = ''
                    if k and 'pps' in k and e['pps']:
                        ratio = '%.2f' % (k['pps'] / e['pps'])
                    row += ' | %9.1f %5.0f%% %6s' % (e['pps'] / 1000,
                                                    e['spread'] * 100, ratio)
                    if e.get('failed_rounds'):
                        errors.append('  %s, %d B: %d round(s) failed: %s' %
                                      (m, size, e['failed_rounds'],
                                       e['last_error']))
            if m == 'kni':
                best = [x.get('best_of') for x in res
                        if x['test'] == test and x['method'] == 'kni']
                row += '   (%s)' % ', '.join(b or '-' for b in best)
            out.append(row)
        if errors:
            out.append('errors:')
            out.extend(errors)
    out.append('')
    out.append('latency: ping RTT to a userspace responder (the ceiling: to '
               'the stack itself), microseconds')
    out.append('%-18s %-10s %8s %8s' % ('method', 'mode', 'p50', 'p99'))
    for e in doc['rtt_us']:
        if 'error' in e:
            out.append('%-18s %-10s error: %s' % (e['method'], e['mode'],
                                                  e['error']))
        else:
            out.append('%-18s %-10s %8.1f %8.1f' % (e['method'], e['mode'],
                                                    e['p50'], e['p99']))
    out.append('')
    out.append('idle: CPU time of the whole guest, % of one vCPU')
    for e in doc['idle_cpu_pct']:
        if 'error' in e:
            out.append('%-18s error: %s' % (e['method'], e['error']))
        else:
            out.append('%-18s %6.2f%%' % (e['method'], e['pct']))
    out.extend(tcp_table(doc['tcp_mbps']))
    return '\n'.join(out)


def tcp_table(res):
    if not res:
        return []
    cols = sorted({(e['direction'] != 'to', e['streams']) for e in res})
    out = ['', 'tcp: iperf3 through a forwarding dataplane, median Mbit/s '
           '(spread); ko/x = kni-offload divided by the method',
           'cpu: % busy of CPU 0 (both iperf3 ends) and CPU 1 (the '
           'forwarder), medians',
           '%-18s' % 'method' + ''.join(
               ' | %-24s' % ('%s peer, %d stream%s' %
                             ('from' if d else 'to', n, 's' if n > 1 else ''))
               for d, n in cols)]
    out.append('-' * len(out[-1]))
    methods = []
    for e in res:
        if e['method'] not in methods:
            methods.append(e['method'])
    errors = []
    cpus = []
    for m in methods:
        row = '%-18s' % m
        for d, n in cols:
            direction = 'from' if d else 'to'
            e = next((x for x in res if x['method'] == m and
                      x['direction'] == direction and x['streams'] == n), None)
            k = next((x for x in res if x['method'] == 'kni-offload' and
                      x['direction'] == direction and x['streams'] == n), None)
            if e is None:
                row += ' | %-24s' % '-'
            elif 'mbps' not in e:
                row += ' | %-24s' % 'error'
                errors.append('  %s, %s, %d: %s' % (m, direction, n,
                                                   e['error']))
            else:
                ratio = ''
                if k and 'mbps' in k and e['mbps']:
                    ratio = 'ko/x %.2f' % (k['mbps'] / e['mbps'])
                row += ' | %7.1f %4.0f%% %-10s' % (e['mbps'],
                                                   e['spread'] * 100, ratio)
                if e.get('cpu_pct'):
                    cpus.append('  %s, %s, %d: cpu %s' % (
                        m, direction, n,
                        ' '.join('%.0f%%' % c for c in e['cpu_pct'])))
                if e.get('failed_rounds'):
                    errors.append('  %s, %s, %d: %d round(s) failed: %s' %
                                  (m, direction, n, e['failed_rounds'],
                                   e['last_error']))
        out.append(row)
    out.extend(cpus)
    if errors:
        out.append('errors:')
        out.extend(errors)
    return out


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: report.py BENCH_RAW BENCH_JSON\n')
        return 2
    doc = build(*parse(sys.argv[1]))
    with open(sys.argv[2], 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print(table(doc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
