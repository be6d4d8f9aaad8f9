new-past-end.img: SC011 new-past-end: error: area 0 slot 3 offset 4144: record points past the end of the device: origin chunk 60 -> COW chunk 1000000 of 600 [fixed: drop the record]
new-past-end.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
new-past-end.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 1000001, 8000008/4800 sectors allocated, 16 metadata, 1 leaked chunk
new-past-end.img: 1 error, 1 warning, 1 fixable
new-past-end.img: repaired: 1 metadata chunk written
new-past-end.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
new-past-end.img: valid, chunk size 8 sectors, 39 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
new-past-end.img: 0 errors, 1 warning, 0 fixable
Exit status is 1
