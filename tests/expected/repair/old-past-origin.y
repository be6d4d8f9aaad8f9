old-past-origin.img: SC014 old-past-origin: error: area 0 slot 7 offset 4208: record's origin chunk is past the end of the origin: origin chunk 1000000000 of 160 -> COW chunk 9 [fixed: drop the record]
old-past-origin.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
old-past-origin.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
old-past-origin.img: 1 error, 1 warning, 1 fixable
old-past-origin.img: repaired: 1 metadata chunk written
old-past-origin.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
old-past-origin.img: valid, chunk size 8 sectors, 39 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
old-past-origin.img: 0 errors, 1 warning, 0 fixable
Exit status is 1
