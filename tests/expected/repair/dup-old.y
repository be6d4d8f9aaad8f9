dup-old.img: SC012 dup-old: error: area 0 slot 5 offset 4176: two records for one origin chunk: origin chunk 122 -> COW chunk 7; the kernel serves COW chunk 4 (area 0 slot 2) [fixed: keep the record the kernel serves, drop the others]
dup-old.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
dup-old.img: 1 error, 0 warnings, 1 fixable
dup-old.img: repaired: 1 metadata chunk written
dup-old.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
dup-old.img: valid, chunk size 8 sectors, 39 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
dup-old.img: 0 errors, 1 warning, 0 fixable
Exit status is 1
