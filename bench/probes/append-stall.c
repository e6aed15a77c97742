/* Append-stall probe (docs/decisions.md, "Append stalls"): 100 B appends at ~1,000/s into a fallocated file
 * while a second thread writes 64 KiB chunks with a syncfs every 1 MiB; a watcher prints the
 * kernel stack of any append blocked over 10 ms. Run with extra bulk writers beside it, e.g.
 *   gcc -O2 -pthread -o /tmp/stall bench/probes/append-stall.c
 *   (for i in 1 2; do timeout 25 sh -c "while :; do head -c 200000000 /dev/zero > /work/s-\$\$; rm /work/s-\$\$; done" & done; /tmp/stall 0 20)
 * Usage: stall MODE SECONDS (MODE 0: O_APPEND + KEEP_SIZE reservation, 1: pwrite into a
 * preallocated file). Needs root for /proc/self/task/N/stack. Files go to /work. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static volatile double in_write=0; static volatile int tid=0; static volatile int stop=0;
static void* watch(void*a){ char path[64]; int dumped=0;
  while(!stop){ usleep(2000); double w=in_write; if(w>0 && now()-w>0.01 && dumped<8){
      sprintf(path,"/proc/self/task/%d/stack",tid); FILE*f=fopen(path,"r"); char buf[4096]; size_t n=fread(buf,1,sizeof buf-1,f); buf[n]=0; fclose(f);
      printf("--- stalled %.1f ms:\n%s",(now()-w)*1e3,buf); dumped++; while(in_write==w && !stop) usleep(1000);} }
  return 0;}
static void* stress(void*a){ int fd=open((char*)a,O_CREAT|O_WRONLY|O_TRUNC,0644); char*b=malloc(1<<16); memset(b,7,1<<16); long n=0;
  while(!stop){ write(fd,b,1<<16); if(++n%16==0) syncfs(fd); if(n%16384==0) ftruncate(fd,0);} close(fd); return 0;}
int main(int argc,char**argv){
  int mode=atoi(argv[1]); int secs=atoi(argv[2]);
  int fd=open("/work/stall-app.dat",O_CREAT|O_RDWR|O_TRUNC|(mode==0?O_APPEND:0),0644);
  if(mode==0) fallocate(fd,FALLOC_FL_KEEP_SIZE,0,64<<20); else fallocate(fd,0,0,64<<20);
  tid=syscall(SYS_gettid);
  pthread_t w,s; pthread_create(&w,0,watch,0); pthread_create(&s,0,stress,"/work/stall-stress.dat");
  char msg[100]; memset(msg,'x',100); long pos=0; int n=0, slow=0; double maxl=0; double t0=now();
  while(now()-t0<secs){ double a=now(); in_write=a;
    if(mode==0) write(fd,msg,100); else pwrite(fd,msg,100,pos);
    in_write=0; double l=now()-a; pos+=100; n++; if(l>maxl)maxl=l; if(l>0.005)slow++;
    usleep(1000);}
  stop=1; pthread_join(s,0);
  printf("mode %d: %d writes, %d > 5ms, max %.1f ms\n",mode,n,slow,maxl*1e3);
  unlink("/work/stall-app.dat"); unlink("/work/stall-stress.dat"); return 0;}
