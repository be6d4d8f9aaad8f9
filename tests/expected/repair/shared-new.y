shared-new.img: SC013 shared-new: error: area 0 slot 6 offset 4192: two origin chunks share one COW chunk: origin chunks 105 (area 0 slot 4) and 55 -> COW chunk 6 [fixed: keep the first record, drop the later ones]
shared-new.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
shared-new.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
shared-new.img: 1 error, 1 warning, 1 fixable
shared-new.img: repaired: 1 metadata chunk written
shared-new.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
shared-new.img: valid, chunk size 8 sectors, 39 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
shared-new.img: 0 errors, 1 warning, 0 fixable
Exit status is 1
