#!/usr/bin/env python3
"""Writes the sysfs fixture trees under fixtures/ that tests/topology_test.cc reads with
read_topology(root): the files Linux has under /sys/devices/system/{cpu,node} and the
Cpus_allowed_list line of /proc/self/status, for machines this one is not. The trees are
committed; run this again after changing a machine here:  tests/topology/make_fixtures.py

Each machine lists its CPUs as (package, core, llc, node); threads of one core share
(package, core). An offline CPU keeps only its cpuN/online file (0), as on x86, where the
kernel removes the topology and cache folders of a CPU that goes offline."""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'fixtures')


def cpu_list(cpus):
    cpus = sorted(cpus)
    parts, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        parts.append(str(cpus[i]) if i == j else f'{cpus[i]}-{cpus[j]}')
        i = j + 1
    return ','.join(parts)


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text + '\n')


def machine(name, cpus, offline=(), allowed=None, smt=('0', 'notsupported'), nodes=True):
    """cpus: {cpu: (package, core, llc, node)}."""
    root = os.path.join(OUT, name)
    base = 'sys/devices/system/cpu'
    online = [c for c in cpus if c not in offline]
    write(root, f'{base}/online', cpu_list(online))
    write(root, f'{base}/possible', cpu_list(cpus))
    write(root, f'{base}/present', cpu_list(cpus))
    write(root, f'{base}/smt/active', smt[0])
    write(root, f'{base}/smt/control', smt[1])
    for c, (pkg, core, llc, node) in cpus.items():
        d = f'{base}/cpu{c}'
        if c != 0:
            write(root, f'{d}/online', '0' if c in offline else '1')
        if c in offline:
            continue
        threads = [x for x, t in cpus.items() if t[:2] == (pkg, core) and x not in offline]
        write(root, f'{d}/topology/physical_package_id', str(pkg))
        write(root, f'{d}/topology/die_id', '0')
        write(root, f'{d}/topology/core_id', str(core))
        write(root, f'{d}/topology/thread_siblings_list', cpu_list(threads))
        write(root, f'{d}/topology/core_cpus_list', cpu_list(threads))
        for i, (level, kind, shared) in enumerate([(1, 'Data', threads),
                                                   (1, 'Instruction', threads),
                                                   (2, 'Unified', threads)]):
            write(root, f'{d}/cache/index{i}/level', str(level))
            write(root, f'{d}/cache/index{i}/type', kind)
            write(root, f'{d}/cache/index{i}/shared_cpu_list', cpu_list(shared))
        l3 = [x for x, t in cpus.items() if t[2] == llc and x not in offline]
        write(root, f'{d}/cache/index3/level', '3')
        write(root, f'{d}/cache/index3/type', 'Unified')
        write(root, f'{d}/cache/index3/shared_cpu_list', cpu_list(l3))
    if nodes:
        for n in sorted({t[3] for t in cpus.values()}):
            members = [c for c, t in cpus.items() if t[3] == n and c not in offline]
            write(root, f'sys/devices/system/node/node{n}/cpulist', cpu_list(members))
    write(root, 'proc/self/status',
          f'Name:\tipcbench\nCpus_allowed_list:\t{cpu_list(allowed if allowed else online)}')


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    # smt_on: one package, 4 cores x 2 threads (siblings N and N+4), one L3, one node.
    machine('smt_on', {c: (0, c % 4, 0, 0) for c in range(8)}, smt=('1', 'on'))
    # smt_off: the same machine with SMT switched off (the second threads offline).
    machine('smt_off', {c: (0, c % 4, 0, 0) for c in range(8)}, offline=(4, 5, 6, 7),
            smt=('0', 'off'))
    # two_sockets: 2 packages x 2 cores, an L3 and a NUMA node per package.
    machine('two_sockets', {0: (0, 0, 0, 0), 1: (0, 1, 0, 0), 2: (1, 0, 1, 1), 3: (1, 1, 1, 1)})
    # two_llcs: one package, two L3s (CCX) of 2 cores each, one node.
    machine('two_llcs', {0: (0, 0, 0, 0), 1: (0, 1, 0, 0), 2: (0, 2, 1, 0), 3: (0, 3, 1, 0)})
    # offline: 4 cores in one L3, CPUs 1 and 3 offline.
    machine('offline', {c: (0, c, 0, 0) for c in range(4)}, offline=(1, 3))
    # cpuset: the two-socket machine, but this process may use CPUs 0 and 1 only.
    machine('cpuset', {0: (0, 0, 0, 0), 1: (0, 1, 0, 0), 2: (1, 0, 1, 1), 3: (1, 1, 1, 1)},
            allowed=[0, 1])
    # vm2: two vCPUs, one package, one L3, one node, no SMT (this project's test VM).
    machine('vm2', {0: (0, 0, 0, 0), 1: (0, 1, 0, 0)})
    # nonuma: no node folder at all (a kernel without NUMA), no cache folders either.
    machine('nonuma', {0: (0, 0, 0, 0), 1: (0, 1, 0, 0)}, nodes=False)
    for c in (0, 1):
        shutil.rmtree(os.path.join(OUT, 'nonuma', f'sys/devices/system/cpu/cpu{c}/cache'))


if __name__ == '__main__':
    main()
