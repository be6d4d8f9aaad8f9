new-in-metadata.img: SC010 new-in-metadata: error: area 0 slot 3 offset 4144: record points into the header or a metadata area: origin chunk 21 -> COW chunk 258, a metadata area [fixed: drop the record]
new-in-metadata.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
new-in-metadata.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 259, 2072/4800 sectors allocated, 16 metadata, 1 leaked chunk
new-in-metadata.img: 1 error, 1 warning, 1 fixable
new-in-metadata.img: repaired: 1 metadata chunk written
new-in-metadata.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 40 data chunks below chunk 42
new-in-metadata.img: valid, chunk size 8 sectors, 39 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 1 leaked chunk
new-in-metadata.img: 0 errors, 1 warning, 0 fixable
Exit status is 1
