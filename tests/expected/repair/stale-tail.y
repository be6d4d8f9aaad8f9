stale-tail.img: SC015 stale-tail: error: area 0 slot 42 offset 4768: records after the list end in the current area would become live on the next commit: 1 record after the end at slot 40 [fixed: zero the records after the list end]
stale-tail.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
stale-tail.img: 1 error, 0 warnings, 1 fixable
stale-tail.img: repaired: 1 metadata chunk written
stale-tail.img: valid, chunk size 8 sectors, 40 exceptions in 1 area, next free chunk 42, 336/4800 sectors allocated, 16 metadata, 0 leaked chunks
stale-tail.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
