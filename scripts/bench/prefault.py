"""Touches and frees MIB mebibytes of memory, so that the next large write
(a STOR of the big file into tmpfs) gets pages the hypervisor has backed.

Why: this machine is a virtual machine whose balloon device has free page
reporting (virtio-balloon feature bit 5, VIRTIO_BALLOON_F_REPORTING). About
two seconds after the guest frees a large block of memory it tells the
host, which takes the memory back; the guest's next write to such a page
faults into the hypervisor, which costs far more than the copy itself.
Writing 1 GiB into tmpfs with plain write() then runs at about 0.4 GB/s
for as long as the allocator hands out reported pages and about 3.5 GB/s
otherwise, in phases of a few hundred megabytes within one file, for any
writer. Without this step the STOR row measured which server drew more
reported pages rather than the servers; with it, every server's upload
starts on pages that were written a moment ago (the kernel keeps reported
blocks at the tail of its free lists and recently freed ones first).
"""
import sys

size = int(sys.argv[1]) << 20
# One allocation filled in place: every page written once, then freed when
# the process exits.
ballast = bytearray(b"\1") * size
assert len(ballast) == size
