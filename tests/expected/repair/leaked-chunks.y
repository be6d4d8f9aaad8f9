leaked-chunks.img: SC020 leaked-chunks: warning: chunks below next_free that no record owns (out-of-order commits before Linux 3.13): 1 of 41 data chunks below chunk 43
leaked-chunks.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 43, 344/4800 sectors allocated, 16 metadata, 1 leaked chunk
leaked-chunks.img: 0 errors, 1 warning, 0 fixable
Exit status is 0
