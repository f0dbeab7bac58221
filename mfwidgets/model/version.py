"""Kernel versions: the behaviours that differ between the kernels the model reproduces.

Each field is one difference that real kernels showed under qemu (docs/kernel.md R3, R5); the
model consults it at the one place the kernel's code differs. 6.12 and 7.3 behaved identically
in every observed case; 6.1 differs in the ways below. ``Kernel(version=...)`` picks one, and
``supports_keep_ue_mapped`` stays independent of it (that version with the PROPOSED series on
top).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class KernelVersion:
    name: str
    #: MFD_NOEXEC_SEAL and MFD_EXEC exist (v6.3); before, they are unknown flags: EINVAL.
    memfd_exec_flags: bool
    #: madvise(MADV_HWPOISON) passes MF_ACTION_REQUIRED, so the caller gets an AR SIGBUS
    #: (6.12 and later). On 6.1 it gets a signal only as an early-kill process (AO).
    madvise_action_required: bool
    #: Signals sent at memory_failure() time (AO to early-kill mappers, AR to the consumer of a
    #: real machine check, AR of kill_accessing_process()) carry the address of the poisoned
    #: 4 KiB page; on 6.1 the hugepage-aligned (head) address.
    precise_kill_address: bool
    #: hugetlbfs_read_iter() reads up to the first poisoned raw page (adjust_range_hwpoison(),
    #: E6); on 6.1 any read that reaches a poisoned hugepage fails with EIO.
    read_adjusts_hwpoison: bool
    #: An error in a free 1 GiB hugepage is "Recovered". On 6.1 the page still leaves the pool
    #: (nr -1, free -1, HardwareCorrupted +4 kB) but the result is "Failed" and the caller sees
    #: EBUSY (docs/kernel.md R5.4).
    free_gigantic_recovered: bool
    #: /sys/devices/system/node/node<N>/memory_failure/ statistics exist (v6.6).
    node_mf_stats: bool
    #: /proc/sys/vm/enable_soft_offline exists (v6.11).
    enable_soft_offline_sysctl: bool
    #: The older log wording: "Memory failure: <pfn>: already hardware poisoned" instead of an
    #: action_result() line (so not counted either), and "Unpoison: <Text> <pfn>" instead of
    #: "Unpoison: <pfn>: <text>".
    legacy_messages: bool


_V7_3 = KernelVersion(
    "7.3",
    memfd_exec_flags=True,
    madvise_action_required=True,
    precise_kill_address=True,
    read_adjusts_hwpoison=True,
    free_gigantic_recovered=True,
    node_mf_stats=True,
    enable_soft_offline_sysctl=True,
    legacy_messages=False,
)

#: The versions the model reproduces, newest first; the first is the default.
KERNEL_VERSIONS: dict[str, KernelVersion] = {
    "7.3": _V7_3,
    "6.12": replace(_V7_3, name="6.12"),
    "6.1": KernelVersion(
        "6.1",
        memfd_exec_flags=False,
        madvise_action_required=False,
        precise_kill_address=False,
        read_adjusts_hwpoison=False,
        free_gigantic_recovered=False,
        node_mf_stats=False,
        enable_soft_offline_sysctl=False,
        legacy_messages=True,
    ),
}
