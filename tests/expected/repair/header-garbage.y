header-garbage.img: SC006 header-garbage: warning: header chunk holds non-zero bytes past the header: offset 100: 1 non-zero bytes past the header [fixed: zero the header chunk past the header]
header-garbage.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-garbage.img: 0 errors, 1 warning, 1 fixable
header-garbage.img: repaired: 1 metadata chunk written
header-garbage.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-garbage.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
