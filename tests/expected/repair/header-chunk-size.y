header-chunk-size.img: SC003 header-chunk-size: error: header chunk size is one the kernel refuses, or not the one the areas were written with: offset 12: chunk size 12 sectors: chunk size is not a power of two; areas fit a chunk size of 8 sectors (4096 bytes) [fixed: rewrite the header with the chunk size inferred from the areas]
header-chunk-size.img: valid, chunk size 8 sectors (inferred), 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-chunk-size.img: 1 error, 0 warnings, 1 fixable
header-chunk-size.img: repaired: 1 metadata chunk written
header-chunk-size.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-chunk-size.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
