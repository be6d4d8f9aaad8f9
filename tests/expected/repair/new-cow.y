new-cow.img: SC008 new-cow: info: new COW: the kernel formats it on activation: offset 0: magic 0 and no records: a new COW
new-cow.img: new, chunk size 0 sectors, 0 exceptions in 0 areas, next free chunk 0, 0/4800 sectors allocated, 0 metadata, 0 leaked chunks
new-cow.img: 0 errors, 0 warnings, 0 fixable
Exit status is 0
