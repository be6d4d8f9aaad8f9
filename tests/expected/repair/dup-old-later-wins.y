dup-old-later-wins.img: SC012 dup-old: error: area 0 slot 1 offset 4112: two records for one origin chunk: origin chunk 1001 -> COW chunk 50; the kernel serves COW chunk 3 (area 0 slot 2) [fixed: keep the record the kernel serves, drop the others]
dup-old-later-wins.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 9 of 49 data chunks below chunk 51
dup-old-later-wins.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 51, 408/4800 sectors allocated, 16 metadata, 9 leaked chunks
dup-old-later-wins.img: 1 error, 1 warning, 1 fixable
dup-old-later-wins.img: repaired: 1 metadata chunk written
dup-old-later-wins.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
dup-old-later-wins.img: valid, chunk size 8 sectors, 39 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
dup-old-later-wins.img: 0 errors, 1 warning, 0 fixable
Exit status is 1
