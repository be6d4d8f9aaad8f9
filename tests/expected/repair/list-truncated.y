list-truncated.img: SC016 list-truncated: error: area 0 slot 101 offset 5712: zero record inside a full-looking area: the records after it are lost: 155 records after the end at slot 100 [fixed: zero the unreachable records after the list end]
list-truncated.img: SC018 stale-area: warning: area after the list end holds live-looking records (the kernel zeroes it before use): area 1 (offset 1056768): 10 live-looking records [fixed: zero the area]
list-truncated.img: valid, chunk size 8 sectors, 100 exceptions in 1 area, next free chunk 102, 816/4800 sectors allocated, 16 metadata, 0 leaked chunks
list-truncated.img: 1 error, 1 warning, 2 fixable
list-truncated.img: repaired: 2 metadata chunks written
list-truncated.img: valid, chunk size 8 sectors, 100 exceptions in 1 area, next free chunk 102, 816/4800 sectors allocated, 16 metadata, 0 leaked chunks
list-truncated.img: 0 errors, 0 warnings, 0 fixable
Exit status is 1
