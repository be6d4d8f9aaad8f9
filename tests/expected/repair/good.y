good.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
good.img: 0 errors, 0 warnings, 0 fixable
Exit status is 0
