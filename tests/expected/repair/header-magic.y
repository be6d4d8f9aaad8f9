header-magic.img: SC001 header-magic: error: header magic is not a snapshot COW's: offset 0: magic 0xdeadbeef; areas fit a chunk size of 8 sectors (4096 bytes) [fixed: rewrite the header with the chunk size inferred from the areas]
header-magic.img: valid, chunk size 8 sectors (inferred), 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-magic.img: 1 error, 0 warnings, 1 fixable
header-magic.img: repaired: 1 metadata chunk written
header-magic.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
header-magic.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
