new-over-live.img: SC007 new-over-live: error: magic is 0 over live-looking areas: activation would reformat and lose them: offset 0: magic 0x00000000 over live-looking areas; areas fit a chunk size of 8 sectors (4096 bytes) [fixed: write a header with the chunk size inferred from the areas]
new-over-live.img: valid, chunk size 8 sectors (inferred), 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
new-over-live.img: 1 error, 0 warnings, 1 fixable
new-over-live.img: repaired: 1 metadata chunk written
new-over-live.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
new-over-live.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
