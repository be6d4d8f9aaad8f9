header-version.img: SC002 header-version: error: header version is not 1: the kernel refuses the COW: offset 8: version 2 [fixed: rewrite the header with version 1]
header-version.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-version.img: 1 error, 0 warnings, 1 fixable
header-version.img: repaired: 1 metadata chunk written
header-version.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-version.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
