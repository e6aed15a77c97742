/* Direct vs buffered appends (docs/decisions.md, "Dropped: O_DIRECT appends"): writes SIZE MiB of ~56 KiB
 * batches and reports process and machine CPU per byte.
 *   gcc -O2 -o /tmp/dio bench/probes/direct-vs-buffered.c && /tmp/dio MODE 1024 /work/dio.dat
 * MODE 0: buffered O_APPEND into a KEEP_SIZE reservation (what Brook does); 1: O_DIRECT from
 * an aligned staging buffer, rewriting the partial last block; 2: as 1 into a preallocated file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static long long machine_busy(){FILE*f=fopen("/proc/stat","r");long long u,n,s,i,w,q,sq,st;fscanf(f,"cpu %lld %lld %lld %lld %lld %lld %lld %lld",&u,&n,&s,&i,&w,&q,&sq,&st);fclose(f);return u+n+s+q+sq;}
int main(int argc,char**argv){
  int mode=atoi(argv[1]); /* 0 buffered, 1 direct keep_size, 2 direct preextended */
  long total=atol(argv[2])<<20; const char*path=argv[3];
  unlink(path);
  int fd=open(path,O_CREAT|O_RDWR|(mode?O_DIRECT:O_APPEND),0644);
  if(fd<0){perror("open");return 1;}
  if(mode==2) fallocate(fd,0,0,total+(1<<20)); else fallocate(fd,FALLOC_FL_KEEP_SIZE,0,total+(1<<20));
  char*src=malloc(1<<17); for(int i=0;i<1<<17;i++)src[i]=rand();
  char*stage; posix_memalign((void**)&stage,4096,1<<18); memset(stage,0,1<<18);
  long pos=0; long tail=0; /* bytes of partial block in stage */
  struct rusage r0,r1; getrusage(RUSAGE_SELF,&r0); long long m0=machine_busy(); double t0=now();
  double maxlat=0; int n=0;
  while(pos<total){
    int len=55000+rand()%3000;
    double a=now();
    if(mode==0){ if(write(fd,src,len)!=len){perror("w");return 1;} }
    else {
      memcpy(stage+tail,src,len);
      long end=tail+len; long wlen=(end+4095)&~4095L;
      long off=pos-tail;
      if(pwrite(fd,stage,wlen,off)!=wlen){perror("pw");return 1;}
      long newtail=end&4095; long keep=end-newtail;
      memmove(stage,stage+keep,newtail); tail=newtail;
    }
    double l=now()-a; if(l>maxlat)maxlat=l; n++;
    pos+=len;
  }
  double t1=now(); getrusage(RUSAGE_SELF,&r1); long long m1=machine_busy();
  double a=now(); fdatasync(fd); double fs=now()-a;
  double ut=(r1.ru_utime.tv_sec-r0.ru_utime.tv_sec)+(r1.ru_utime.tv_usec-r0.ru_utime.tv_usec)/1e6;
  double st=(r1.ru_stime.tv_sec-r0.ru_stime.tv_sec)+(r1.ru_stime.tv_usec-r0.ru_stime.tv_usec)/1e6;
  double mb=(m1-m0)/(double)sysconf(_SC_CLK_TCK);
  printf("mode %d: %.0f MiB/s wall, proc user %.3f sys %.3f => %.3f ns/B; machine busy %.2f s => %.3f ns/B; writes %d max %.1f ms avg %.1f us; fdatasync %.1f ms\n",
    mode,total/1048576.0/(t1-t0),ut,st,(ut+st)*1e9/total,mb,mb*1e9/total,n,maxlat*1e3,(t1-t0)/n*1e6,fs*1e3);
  return 0;
}
