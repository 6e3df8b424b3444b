#!/usr/bin/env python3
"""check-summary.py — recount a genpflog log independently and compare
with its --summary.

usage: check-summary.py LOG SUMMARY.json [REGISTRY.json]

LOG must be written with --format rfc3339 (its offsets make times exact).
Counts per (login, billing day): messages, recipients, local, remote,
sent, bounced, expired, following the rules of bench/README.md.  Exits 0
when every row agrees, 1 and a list of differences otherwise.
"""
import json
import re
import sys
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

LINE = re.compile(r'^(\S+) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$')
QID = re.compile(r'^([0-9A-Za-z]+): (.*)$')
TO = re.compile(r'^to=<([^>]*)>, (?:orig_to=<([^>]*)>, )?relay=(\S+), .*'
                r'status=(\w+)(?: \((.*)\))?$')
LOCAL_RELAYS = ('dovecot[172.22.1.250]:24',
                'mail.example.net[private/dovecot-lmtp]')


def main():
    log, summ = sys.argv[1], json.load(open(sys.argv[2]))
    tz = ZoneInfo(summ['billing_timezone'])
    login_of = {}      # registered mailbox address -> login
    hosted = set()
    if len(sys.argv) > 3:
        for c in json.load(open(sys.argv[3]))['customers']:
            hosted.update(d.lower() for d in c['domains'])
            for m in c.get('mailboxes', []):
                a = m['address'].lower()
                login_of[a] = (m.get('login') or a).lower()

    def registered(addr):
        if login_of:
            return login_of.get(addr)
        return addr if re.match(r'^user\d+@domain\d+\.example$', addr) else None

    def is_hosted(dom):
        if hosted:
            return dom in hosted
        return re.match(r'^domain\d+\.example$', dom) is not None

    current = {}   # qid -> record
    records = []
    for raw in open(log, encoding='utf-8', errors='replace'):
        m = LINE.match(raw.rstrip('\n'))
        if not m:
            continue
        ts, _, ident, _, msg = m.groups()
        if not ident.startswith('postfix/'):
            continue
        daemon = ident.rsplit('/', 1)[1]
        q = QID.match(msg)
        if not q or q.group(1) == 'NOQUEUE':
            continue
        qid, rest = q.groups()
        rec = current.get(qid)
        if daemon == 'smtpd' and rest.startswith('client='):
            u = re.search(r'sasl_username=(\S+)', rest)
            rec = {'login': u.group(1) if u else None, 'acc': None,
                   'rcpt': {}, 'link': None, 'expired': False}
            current[qid] = rec
            records.append(rec)
        elif daemon == 'pickup' and ' uid=' in ' ' + rest:
            s = re.search(r'from=<([^>]*)>', rest).group(1)
            rec = {'login': registered(s.lower()), 'acc': None,
                   'rcpt': {}, 'link': None, 'expired': False}
            current[qid] = rec
            records.append(rec)
        elif rec is None:
            continue
        elif daemon == 'qmgr' and rest.startswith('from=') and 'nrcpt=' in rest:
            if rec['acc'] is None:
                rec['acc'] = datetime.fromisoformat(ts)
                rec['nrcpt'] = int(re.search(r'nrcpt=(\d+)', rest).group(1))
        elif daemon == 'qmgr' and 'status=expired' in rest:
            rec['expired'] = True
        elif daemon == 'qmgr' and rest == 'removed':
            del current[qid]
        else:
            t = TO.match(rest)
            if t:
                to, orig, relay, status, reply = t.groups()
                rec['rcpt'][(to, orig)] = (status, relay)
                f = re.search(r'queued as (\w+)\)?$', reply or '')
                if relay.startswith('127.0.0.1[') and status == 'sent' and f:
                    rec['link'] = current.get(f.group(1))

    got = defaultdict(lambda: defaultdict(int))
    for rec in records:
        if rec['login'] is None or rec['acc'] is None:
            continue
        day = rec['acc'].astimezone(tz).strftime('%Y-%m-%d')
        c = got[(rec['login'], day)]
        c['messages'] += 1
        for key, (status, relay) in rec['rcpt'].items():
            if rec['link'] is not None and relay.startswith('127.0.0.1['):
                status, relay = rec['link']['rcpt'].get(key, (status, relay))
            if status == 'deferred':
                status = 'expired' if rec['expired'] or (
                    rec['link'] and rec['link']['expired']) else 'deferred'
            local = relay in LOCAL_RELAYS or (
                relay.startswith(('none', '127.0.0.1')) and
                is_hosted(key[0].rsplit('@', 1)[1]))
            c['recipients'] += 1
            c['local' if local else 'remote'] += 1
            c[status] += 1
        if len(rec['rcpt']) != rec['nrcpt']:
            print('nrcpt mismatch', rec['login'], day, rec['nrcpt'],
                  len(rec['rcpt']))

    want = defaultdict(lambda: defaultdict(int))
    for r in summ['by_login_day']:
        w = want[(r['login'], r['day'])]
        for k in ('messages', 'recipients', 'local', 'remote', 'sent',
                  'bounced', 'expired', 'deferred'):
            w[k] += r[k]
    bad = 0
    for key in sorted(set(got) | set(want)):
        for k in ('messages', 'recipients', 'local', 'remote', 'sent',
                  'bounced', 'expired', 'deferred'):
            if got[key][k] != want[key][k]:
                bad += 1
                if bad <= 20:
                    print('differ', key, k, 'log', got[key][k],
                          'summary', want[key][k])
    print('%d login-days, %d differences' % (len(set(got) | set(want)), bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
